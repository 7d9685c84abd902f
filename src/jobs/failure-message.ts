import { JobCancelledError } from "./job-cancelled-error.ts";
import { PermanentJobError } from "./permanent-job-error.ts";
import { TransientJobError } from "./transient-job-error.ts";

/**
 * The reason a client sees on `/status`: what a processor chose to say (a PermanentJobError,
 * e.g. "the URL points to a private address"), never the internals of an unexpected failure.
 */
export function failureMessage(error: unknown): string {
  if (
    error instanceof PermanentJobError ||
    error instanceof TransientJobError ||
    error instanceof JobCancelledError
  ) {
    return error.message;
  }
  return "The job failed with an internal error.";
}
