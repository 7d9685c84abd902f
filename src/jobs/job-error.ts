import { type ErrorCode, ErrorCodes } from "../errors/error-codes.ts";

/**
 * A failure a processor means to report: its message is shown on `/status`, its code is recorded
 * with it, and the code's retry flag decides whether the job gets another attempt (a refused
 * source fails at once; a timeout is retried).
 */
export class JobError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(options: { code: ErrorCode; message: string; cause?: unknown }) {
    super(options.message, { cause: options.cause });
    this.name = "JobError";
    this.code = options.code;
    this.retryable = ErrorCodes[options.code].retryable;
  }
}
