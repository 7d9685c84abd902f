import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fastifyPlugin from "fastify-plugin";
import { ServiceError } from "../errors/service-error.ts";
import { errorBody } from "./error-body.ts";
import { redactSecrets } from "./redact-secrets.ts";
import { toServiceError } from "./to-service-error.ts";
import { urlPath } from "./url-path.ts";

/** Sends `error` in the envelope the route's clients expect, with `Retry-After` when known. */
export function sendError(request: FastifyRequest, reply: FastifyReply, error: ServiceError): FastifyReply {
  if (error.retryAfterSeconds !== undefined) reply.header("retry-after", String(error.retryAfterSeconds));
  if (error.headers !== undefined) reply.headers(error.headers);
  return reply.code(error.statusCode).type("application/json; charset=utf-8").send(errorBody(request, error));
}

/** One error handler and one 404 handler for the whole app. */
export const errorHandlerPlugin = fastifyPlugin(
  async function errorHandler(app: FastifyInstance) {
    app.setErrorHandler((error, request, reply) => {
      const serviceError = toServiceError(error);
      if (serviceError.statusCode >= 500) {
        request.log.error(
          { err: serviceError.cause ?? serviceError, code: serviceError.code },
          "request failed",
        );
      } else {
        request.log.info(
          { code: serviceError.code, reason: redactSecrets(request, serviceError.message) },
          "request rejected",
        );
      }
      return sendError(request, reply, serviceError);
    });

    app.setNotFoundHandler((request, reply) =>
      sendError(
        request,
        reply,
        new ServiceError({
          code: "NOT_FOUND",
          message: `Route ${request.method} ${urlPath(request.url).slice(0, 100)} not found.`,
        }),
      ),
    );
  },
  { name: "error-handler" },
);
