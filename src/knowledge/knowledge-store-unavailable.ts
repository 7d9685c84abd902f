import { isServiceError, ServiceError } from "../errors/service-error.ts";

/**
 * A failed knowledge store call as the client sees it: 503 NOT_READY, retryable, with the cause
 * (a refused connection, a timeout) kept for the log and out of the response.
 */
export function knowledgeStoreUnavailable(error: unknown): ServiceError {
  if (isServiceError(error)) return error;
  return new ServiceError({
    code: "NOT_READY",
    message: "The knowledge store is unavailable; retry shortly.",
    retryAfterSeconds: 1,
    cause: error,
  });
}
