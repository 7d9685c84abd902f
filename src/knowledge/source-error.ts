import { type ErrorCode, ErrorCodes } from "../errors/error-codes.ts";

export type SourceErrorCode = Extract<ErrorCode, `SOURCE_${string}`>;

/**
 * Why a source (a file, a URL, its content) could not be read. The message is fit for the
 * client; `retryable` is the catalogue's flag for the code, so a timeout says "try again" and a
 * refused address does not.
 */
export class SourceError extends Error {
  readonly code: SourceErrorCode;
  readonly retryable: boolean;

  constructor(options: { code: SourceErrorCode; message: string; cause?: unknown }) {
    super(options.message, { cause: options.cause });
    this.name = "SourceError";
    this.code = options.code;
    this.retryable = ErrorCodes[options.code].retryable;
  }
}
