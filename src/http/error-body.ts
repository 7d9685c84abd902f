import type { FastifyRequest } from "fastify";
import type { ServiceError } from "../errors/service-error.ts";

/** OpenAI's error `type` for each status family, so OpenAI SDKs raise the matching class. */
function openAIErrorType(statusCode: number): string {
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
  if (isAnthropicRoute(request)) return anthropicErrorBody(error, request.id);
  if (isOpenAIRoute(request)) return openAIErrorBody(error);
  return { error: { code: error.code, message: error.message, request_id: request.id } };
}

/** OpenAI's error shape, as its SDKs parse it from a response body or a stream frame. */
export function openAIErrorBody(error: ServiceError) {
  return {
    error: {
      message: error.message,
      type: openAIErrorType(error.statusCode),
      code: error.code.toLowerCase(),
      param: error.param ?? null,
    },
  };
}

/**
 * Anthropic's error shape, as its SDKs parse it from a response body or an `error` event. The
 * message names the field when there is one, since the shape has no `param`.
 */
export function anthropicErrorBody(error: ServiceError, requestId: string) {
  return {
    type: "error" as const,
    error: { type: anthropicErrorType(error.statusCode), message: error.message },
    request_id: requestId,
  };
}
