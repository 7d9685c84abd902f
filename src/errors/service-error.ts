import { type ErrorCode, ErrorCodes } from "./error-codes.ts";

export type ServiceErrorOptions = {
  code: ErrorCode;
  message: string;
  /** Seconds the client should wait before retrying; sent as `Retry-After`. */
  retryAfterSeconds?: number;
  /** The field of the request that was wrong, when there is one (OpenAI's `param`). */
  param?: string;
  /** More headers the response carries (a rate limit's `x-ratelimit-*`). */
  headers?: Readonly<Record<string, string>>;
  cause?: unknown;
};

/**
 * An error the service means to answer with. Its message is shown to the client, so it must
 * never carry upstream bodies, keys or stack traces; put those in `cause` for the log.
 */
export class ServiceError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly retryable: boolean;
  readonly retryAfterSeconds: number | undefined;
  readonly param: string | undefined;
  readonly headers: Readonly<Record<string, string>> | undefined;

  constructor(options: ServiceErrorOptions) {
    super(options.message, { cause: options.cause });
    this.name = "ServiceError";
    this.code = options.code;
    this.statusCode = ErrorCodes[options.code].statusCode;
    this.retryable = ErrorCodes[options.code].retryable;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.param = options.param;
    this.headers = options.headers;
  }
}

export function isServiceError(error: unknown): error is ServiceError {
  return error instanceof ServiceError;
}
