import { ServiceError } from "../errors/service-error.ts";

/** Seconds a client is asked to wait after a search ran out of time: the stopped work has drained by then. */
const RETRY_AFTER_SECONDS = 2;

/** A search stopped at its time budget (`SEARCH_TIMEOUT_MS`): 503 SEARCH_TIMEOUT with Retry-After. */
export function searchTimedOut(budgetMs: number): ServiceError {
  return new ServiceError({
    code: "SEARCH_TIMEOUT",
    message: `The search was stopped after ${budgetMs} ms; retry shortly, or ask with fewer common words.`,
    retryAfterSeconds: RETRY_AFTER_SECONDS,
  });
}
