import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { ServiceError } from "../errors/service-error.ts";
import { sendError } from "./error-handler.ts";

/**
 * Fastify's `frameworkErrors`: a URL its router cannot decode, or a path parameter over its
 * length, answered before any hook runs, so the request id is set here.
 */
export function handleFrameworkError(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  reply.header("x-request-id", request.id);
  const serviceError =
    error.code === "FST_ERR_MAX_PARAM_LENGTH"
      ? new ServiceError({
          code: "URI_TOO_LONG",
          message: "A path segment of the URL is too long.",
          cause: error,
        })
      : error.code === "FST_ERR_BAD_URL"
        ? new ServiceError({ code: "BAD_REQUEST", message: "The request's URL is not valid.", cause: error })
        : new ServiceError({ code: "INTERNAL_ERROR", message: "Internal server error.", cause: error });
  request.log.info({ code: serviceError.code, reason: error.message }, "request rejected");
  sendError(request, reply, serviceError);
}
