import { APICallError, InvalidPromptError, UnsupportedFunctionalityError } from "@ai-sdk/provider";
import { ServiceError } from "../errors/service-error.ts";
import { retryAfterMs } from "./retry-after-ms.ts";

/**
 * The longest wait passed on to clients: an upstream asking for days would otherwise park every
 * well-behaved client that honours it.
 */
export const MAX_RETRY_AFTER_SECONDS = 300;

/**
 * Any failure of a model call to the error the client sees. Upstream bodies and messages stay in
 * `cause` (for the log): they can echo keys, prompts or internal addresses.
 */
export function mapUpstreamError(error: unknown): ServiceError {
  if (error instanceof ServiceError) return error;
  // Raised by the AI SDK's provider before any request, about what the client sent (a media type
  // the provider takes no file of, say): the client's to fix, in the SDK's own words.
  if (UnsupportedFunctionalityError.isInstance(error)) {
    return new ServiceError({
      code: "UNSUPPORTED_PARAMETER",
      message: `The model's provider cannot take this request: ${error.message}`,
      param: "messages",
      cause: error,
    });
  }
  if (InvalidPromptError.isInstance(error)) {
    return new ServiceError({
      code: "VALIDATION_FAILED",
      message: `The messages cannot be sent to this provider: ${error.message}`,
      param: "messages",
      cause: error,
    });
  }
  const statusCode = upstreamStatus(error);
  if (statusCode === 429) {
    const waitMs = APICallError.isInstance(error) ? retryAfterMs(error.responseHeaders) : undefined;
    return new ServiceError({
      code: "UPSTREAM_RATE_LIMITED",
      message: "The model provider is rate limiting requests; retry later.",
      retryAfterSeconds: Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(1, Math.ceil((waitMs ?? 1000) / 1000))),
      cause: error,
    });
  }
  if (statusCode === 401 || statusCode === 403) {
    return new ServiceError({
      code: "UPSTREAM_AUTH_FAILED",
      message: "The model provider refused the service's credentials; check its API key.",
      cause: error,
    });
  }
  if (statusCode === 400 || statusCode === 404 || statusCode === 422) {
    // The request itself was wrong (an invalid tool schema, an unknown upstream model): the
    // caller can fix it only if they read why, so the upstream's words come back, credentials out.
    const reason = upstreamReason(error);
    return new ServiceError({
      code: statusCode === 404 ? "UPSTREAM_NOT_FOUND" : "UPSTREAM_REJECTED_REQUEST",
      message: `The model provider refused the request (status ${statusCode})${reason === undefined ? "." : `: ${reason}`}`,
      cause: error,
    });
  }
  if (statusCode !== undefined && statusCode >= 400 && statusCode < 500 && statusCode !== 408) {
    return new ServiceError({
      code: "UPSTREAM_BAD_REQUEST",
      message: `The model provider refused the request (status ${statusCode}); check the model name and parameters.`,
      cause: error,
    });
  }
  if (statusCode !== undefined) {
    return new ServiceError({
      code: "UPSTREAM_ERROR",
      message: `The model provider failed (status ${statusCode}).`,
      cause: error,
    });
  }
  // No status at all: the connection failed before any answer (refused, reset, DNS).
  if (APICallError.isInstance(error) && error.statusCode === undefined) {
    return new ServiceError({
      code: "UPSTREAM_UNAVAILABLE",
      message: "The model provider could not be reached.",
      cause: error,
    });
  }
  return new ServiceError({ code: "UPSTREAM_ERROR", message: "The model provider failed.", cause: error });
}

/** Longest upstream explanation passed on; past it the rest goes to the log only. */
const MAX_REASON_CHARS = 500;

/**
 * The `error.message` of an upstream's error body (OpenAI's and Anthropic's shapes alike), with
 * anything that looks like a credential replaced: providers echo keys back ("Incorrect API key
 * provided: sk-..."), and a caller must never learn the service's.
 */
function upstreamReason(error: unknown): string | undefined {
  const body = APICallError.isInstance(error) ? error.responseBody : undefined;
  if (body === undefined || body.length === 0) return undefined;
  let message: unknown;
  try {
    message = (JSON.parse(body) as { error?: { message?: unknown } }).error?.message;
  } catch {
    return undefined;
  }
  if (typeof message !== "string" || message.trim().length === 0) return undefined;
  const scrubbed = message
    .replace(/\b(sk|pk|rk|key|ak)[-_][A-Za-z0-9_*.-]{3,}/gi, "[redacted]")
    .replace(/\bBearer\s+\S+/gi, "Bearer [redacted]")
    .replace(/\b[A-Za-z0-9_-]{32,}\b/g, "[redacted]");
  return scrubbed.length > MAX_REASON_CHARS ? `${scrubbed.slice(0, MAX_REASON_CHARS)}…` : scrubbed;
}

/** The HTTP status an upstream failure carries: from the response, or from an error event in its stream. */
export function upstreamStatus(error: unknown): number | undefined {
  const statusCode = APICallError.isInstance(error)
    ? error.statusCode
    : (error as { statusCode?: unknown } | null)?.statusCode;
  // A body that broke off after a 200 is a connection failure, not an answer with a status.
  return typeof statusCode === "number" && statusCode >= 400 ? statusCode : undefined;
}
