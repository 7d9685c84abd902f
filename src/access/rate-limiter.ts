import type { AccessLimits } from "./virtual-key.ts";

/** The window every limit counts over: requests and tokens per minute. */
export const RATE_WINDOW_MS = 60_000;

/** How long a parallel slot is held at most when its release never arrives (a replica died). */
export const PARALLEL_LEASE_MS = 15 * 60_000;

export type LimitAcquire = Readonly<{
  /** Whose limits: `key:<id>` or `address:<ip>`. */
  subject: string;
  limits: AccessLimits;
  /** Tokens reserved until the call settles: the prompt estimate plus `max_tokens`. */
  tokens: number;
  /**
   * Names this call's reservation and parallel slot in this process: a sequence number, which
   * the Redis limiter names across replicas with its own instance's prefix. A number rather than
   * a string spares each keyed call a string built and hashed for every map it is kept in.
   */
  id: number;
  now: number;
}>;

export type LimitState = Readonly<{ limit: number; remaining: number; resetMs: number }>;

export type LimitDecision = Readonly<{
  allowed: boolean;
  /** Which limit refused the call. */
  refusedBy?: "requests" | "tokens" | "parallel";
  /** When a retry may pass; 0 when allowed. */
  retryAfterMs: number;
  requests?: LimitState;
  tokens?: LimitState;
}>;

/**
 * Requests per minute, tokens per minute (sliding windows) and calls in parallel, per subject.
 * In process (`MemoryRateLimiter`) or atomic in Redis (`RedisRateLimiter`); both pass
 * test/support/rate-limiter-conformance.ts. Spend counters for budgets live beside them, shared
 * the same way.
 */
export type RateLimiter = {
  acquire(request: LimitAcquire): Promise<LimitDecision>;
  /**
   * The same as `acquire` and `settle` without a promise, for a limiter that decides with no I/O
   * (in process): each call of a keyed request is then spared two promises and their turns.
   */
  acquireNow?(request: LimitAcquire): LimitDecision;
  settleNow?(subject: string, id: number, usedTokens: number, now: number): void;
  /** Replaces the reservation with the tokens really used and frees the parallel slot. */
  settle(subject: string, id: number, usedTokens: number, now: number): Promise<void>;
  /** Billionths of a dollar spent in `period` (a name such as `2026-12-01`); `initial` reads the ledger when the counter is new. */
  spend(subject: string, period: string, initial: () => Promise<number>, ttlMs: number): Promise<number>;
  /** Adds to a counter that `spend` has started; a counter not started yet is left to start from the ledger. */
  addSpend(subject: string, period: string, nanoUsd: number): Promise<void>;
  close(): Promise<void>;
};
