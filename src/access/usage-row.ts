/** One model call as the usage ledger records it, failures included. */
export type UsageRow = Readonly<{
  /** Milliseconds since the epoch, when the call ended. */
  time: number;
  /** The virtual key's id; null for callers without one (API_KEYS, open mode). */
  keyId: string | null;
  model: string;
  /** Which provider deployment served it (`openai`, `echo`, ...). */
  deployment: string;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  /** Cost in billionths of a US dollar, so sums are exact. */
  costNanoUsd: number;
  durationMs: number;
  /** `success`, `error` or `client_disconnected`. */
  outcome: string;
  requestId: string;
}>;

export const UsageGroupings = ["day", "model", "key"] as const;
export type UsageGrouping = (typeof UsageGroupings)[number];

export type UsageQuery = Readonly<{
  keyId?: string;
  model?: string;
  /** Inclusive, milliseconds since the epoch. */
  from?: number;
  /** Exclusive. */
  to?: number;
  groupBy?: UsageGrouping;
}>;

/** One group of `GET /admin/usage`: the whole range when not grouped. */
export type UsageTotal = Readonly<{
  /** The day (YYYY-MM-DD, UTC), model or key id of the group; null when not grouped. */
  group: string | null;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  costNanoUsd: number;
}>;

export const NANO_USD_PER_USD = 1_000_000_000;
