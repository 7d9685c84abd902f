/**
 * Every error the service answers with: a stable code, its HTTP status, and whether the
 * client may retry the same request. The README lists the same table.
 */
export const ErrorCodes = {
  INVALID_JSON: { statusCode: 400, retryable: false },
  VALIDATION_FAILED: { statusCode: 400, retryable: false },
  UNKNOWN_MODEL: { statusCode: 400, retryable: false },
  UNSUPPORTED_PARAMETER: { statusCode: 400, retryable: false },
  // `POST /v1/messages/count_tokens` for a model whose provider has no token-counting endpoint.
  TOKEN_COUNT_UNAVAILABLE: { statusCode: 400, retryable: false },
  // Refused by Node's HTTP parser or Fastify's router, before any route ran.
  BAD_REQUEST: { statusCode: 400, retryable: false },
  REQUEST_TIMEOUT: { statusCode: 408, retryable: true },
  URI_TOO_LONG: { statusCode: 414, retryable: false },
  HEADERS_TOO_LARGE: { statusCode: 431, retryable: false },
  UNAUTHORIZED: { statusCode: 401, retryable: false },
  // A valid key that may not do this: a virtual key on /admin/*, or a model outside its `models`.
  FORBIDDEN: { statusCode: 403, retryable: false },
  MODEL_NOT_ALLOWED: { statusCode: 403, retryable: false },
  // A knowledge collection outside the virtual key's `collections`: ingest, search, list, grounding.
  COLLECTION_NOT_ALLOWED: { statusCode: 403, retryable: false },
  NOT_FOUND: { statusCode: 404, retryable: false },
  // OpenAI's `model_not_found`: a model asked for by id (`GET /v1/models/{id}`) that is not served.
  MODEL_NOT_FOUND: { statusCode: 404, retryable: false },
  // The provider refused the request for what it asked: its reason comes back, credentials removed.
  UPSTREAM_REJECTED_REQUEST: { statusCode: 400, retryable: false },
  UPSTREAM_NOT_FOUND: { statusCode: 404, retryable: false },
  CONFLICT: { statusCode: 409, retryable: false },
  BODY_TOO_LARGE: { statusCode: 413, retryable: false },
  UNSUPPORTED_MEDIA_TYPE: { statusCode: 415, retryable: false },
  TOO_MANY_STREAMS: { statusCode: 429, retryable: true },
  TOO_MANY_SUBSCRIBERS: { statusCode: 429, retryable: true },
  QUEUE_FULL: { statusCode: 429, retryable: true },
  UPSTREAM_RATE_LIMITED: { statusCode: 429, retryable: true },
  // Every healthy deployment of the model stayed at its max_concurrency or rpm for LLM_TIMEOUT_MS.
  MODEL_AT_CAPACITY: { statusCode: 429, retryable: true },
  // Our own limits per key (or per client address): rpm, tpm, max_parallel.
  RATE_LIMIT_EXCEEDED: { statusCode: 429, retryable: true },
  // The key's budget for its period is spent; retrying before the period turns is pointless.
  INSUFFICIENT_QUOTA: { statusCode: 429, retryable: false },
  INTERNAL_ERROR: { statusCode: 500, retryable: true },
  UPSTREAM_AUTH_FAILED: { statusCode: 502, retryable: false },
  UPSTREAM_BAD_REQUEST: { statusCode: 502, retryable: false },
  UPSTREAM_ERROR: { statusCode: 502, retryable: true },
  SHUTTING_DOWN: { statusCode: 503, retryable: true },
  NOT_READY: { statusCode: 503, retryable: true },
  // Load shedding: the event loop, heap or RSS is past its threshold.
  OVERLOADED: { statusCode: 503, retryable: true },
  UPSTREAM_UNAVAILABLE: { statusCode: 503, retryable: true },
  SEARCH_TIMEOUT: { statusCode: 503, retryable: true },
  UPSTREAM_TIMEOUT: { statusCode: 504, retryable: true },
  INSUFFICIENT_STORAGE: { statusCode: 507, retryable: true },
  // Why a job failed, shown on `/status` beside its message rather than as a response's status.
  // The retry flag is also the worker's: a retryable failure gets another attempt.
  SOURCE_REFUSED: { statusCode: 400, retryable: false },
  SOURCE_NOT_FOUND: { statusCode: 404, retryable: false },
  SOURCE_TOO_LARGE: { statusCode: 413, retryable: false },
  SOURCE_UNSUPPORTED_TYPE: { statusCode: 415, retryable: false },
  SOURCE_UNREADABLE: { statusCode: 422, retryable: false },
  SOURCE_ENCRYPTED: { statusCode: 422, retryable: false },
  SOURCE_NO_TEXT: { statusCode: 422, retryable: false },
  SOURCE_EXTRACTION_TIMEOUT: { statusCode: 422, retryable: false },
  UNKNOWN_JOB_TYPE: { statusCode: 500, retryable: false },
  JOB_FAILED: { statusCode: 500, retryable: true },
  JOB_LEASE_EXPIRED: { statusCode: 500, retryable: true },
  SOURCE_HTTP_ERROR: { statusCode: 502, retryable: false },
  SOURCE_FETCH_FAILED: { statusCode: 502, retryable: true },
  SOURCE_TIMEOUT: { statusCode: 504, retryable: true },
  KNOWLEDGE_STORE_FULL: { statusCode: 507, retryable: false },
} as const satisfies Record<string, { statusCode: number; retryable: boolean }>;

export type ErrorCode = keyof typeof ErrorCodes;
