import type { ErrorCode } from "../errors/error-codes.ts";
import { JobError } from "./job-error.ts";

/** What a worker records of a failed attempt. */
export type JobFailure = { code: ErrorCode; message: string; retryable: boolean };

/**
 * The failure a client sees on `/status`: what a processor chose to say (a JobError, e.g. "the
 * URL points to a private address"), never the internals of an unexpected failure, which is
 * retried as JOB_FAILED.
 */
export function jobFailure(error: unknown): JobFailure {
  if (error instanceof JobError)
    return { code: error.code, message: error.message, retryable: error.retryable };
  return { code: "JOB_FAILED", message: "The job failed with an internal error.", retryable: true };
}
