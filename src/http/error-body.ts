import type { FastifyRequest } from "fastify";
import type { ServiceError } from "../errors/service-error.ts";
import { redactSecrets } from "./redact-secrets.ts";

/** OpenAI's error `type` for each status family, so OpenAI SDKs raise the matching class. */
function openAIErrorType(statusCode: number, code: string): string {
  // OpenAI's own type for a spent quota, which clients tell apart from a passing rate limit.
  if (code === "INSUFFICIENT_QUOTA") return "insufficient_quota";
  if (statusCode === 401) return "authentication_error";
  if (statusCode === 403) return "permission_error";
  if (statusCode === 429) return "rate_limit_error";
  if (statusCode >= 500) return "api_error";
  return "invalid_request_error";
}

/** Anthropic's error `type` for each status, so Anthropic SDKs raise the matching class. */
function anthropicErrorType(statusCode: number): string {
  if (statusCode === 401) return "authentication_error";
  if (statusCode === 403) return "permission_error";
  if (statusCode === 404) return "not_found_error";
  if (statusCode === 413) return "request_too_large";
  if (statusCode === 429) return "rate_limit_error";
  if (statusCode === 503 || statusCode === 529) return "overloaded_error";
  if (statusCode === 504) return "timeout_error";
  if (statusCode >= 500) return "api_error";
  return "invalid_request_error";
}

/** `/v1/messages` and what is under it speak Anthropic's error shape. */
export function isAnthropicRoute(request: FastifyRequest): boolean {
  const url = request.url;
  return url.startsWith("/v1/messages") && (url.length === 12 || "/?".includes(url[12]));
}

/** `/v1/*` speaks OpenAI's error shape (Anthropic's under `/v1/messages`); every other route speaks ours. */
export function isOpenAIRoute(request: FastifyRequest): boolean {
  return request.url.startsWith("/v1/") && !isAnthropicRoute(request);
}

export function errorBody(request: FastifyRequest, error: ServiceError): object {
  // Messages quote the request (a route, a model name): never a key it carried.
  const message = redactSecrets(request, error.message);
  if (isAnthropicRoute(request)) return anthropicErrorBody(error, request.id, message);
  if (isOpenAIRoute(request)) return openAIErrorBody(error, message);
  return { error: { code: error.code, message, request_id: request.id } };
}

/** OpenAI's error shape, as its SDKs parse it from a response body or a stream frame. */
export function openAIErrorBody(error: ServiceError, message = error.message) {
  return {
    error: {
      message,
      type: openAIErrorType(error.statusCode, error.code),
      code: error.code.toLowerCase(),
      param: error.param ?? null,
    },
  };
}

/**
 * Anthropic's error shape, as its SDKs parse it from a response body or an `error` event. The
 * message names the field when there is one, since the shape has no `param`.
 */
export function anthropicErrorBody(error: ServiceError, requestId: string, message = error.message) {
  return {
    type: "error" as const,
    error: { type: anthropicErrorType(error.statusCode), message },
    request_id: requestId,
  };
}
