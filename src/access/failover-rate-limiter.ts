import { MemoryRateLimiter } from "./memory-rate-limiter.ts";
import type { LimitAcquire, LimitDecision, RateLimiter } from "./rate-limiter.ts";
import type { RedisRateLimiter } from "./redis-rate-limiter.ts";

export type LimiterModeListener = (shared: boolean, cause?: unknown) => void;

/** Settles of Redis reservations kept while Redis is away, to free their slots when it returns. */
const MAX_PENDING_SETTLES = 10_000;

type PendingSettle = { subject: string; id: number; usedTokens: number; now: number };

/**
 * Redis's shared limits while Redis answers; when it does not, counting in this process (per
 * replica) so that callers never see a Redis outage, and shared counting again once it is back.
 * Each call settles where it was admitted.
 */
export class FailoverRateLimiter implements RateLimiter {
  readonly #shared: RedisRateLimiter;
  readonly #local = new MemoryRateLimiter();
  readonly #onModeChange: LimiterModeListener;
  /** Which calls were admitted in process, so their settle goes there too. */
  readonly #localCalls = new Set<number>();
  readonly #pendingSettles: PendingSettle[] = [];
  // Until Redis first answers, calls are counted here.
  #isShared = false;

  constructor(shared: RedisRateLimiter, onModeChange: LimiterModeListener) {
    this.#shared = shared;
    this.#onModeChange = onModeChange;
    shared.redis.on("ready", () => {
      this.#setShared(true);
      void this.#replaySettles();
    });
    shared.redis.on("close", () => this.#setShared(false));
  }

  /** False while limits are counted per replica. */
  get isShared(): boolean {
    return this.#isShared;
  }

  async acquire(request: LimitAcquire): Promise<LimitDecision> {
    if (this.#shared.connected) {
      try {
        const decision = await this.#shared.acquire(request);
        this.#setShared(true);
        return decision;
      } catch (error) {
        this.#setShared(false, error);
      }
    } else {
      this.#setShared(false);
    }
    const decision = this.#local.acquireNow(request);
    if (decision.allowed) this.#localCalls.add(request.id);
    return decision;
  }

  async settle(subject: string, id: number, usedTokens: number, now: number): Promise<void> {
    if (this.#localCalls.delete(id)) {
      this.#local.settleNow(subject, id, usedTokens, now);
      return;
    }
    try {
      await this.#shared.settle(subject, id, usedTokens, now);
    } catch {
      // Its slot in Redis would stay taken until its lease ends: free it when Redis is back.
      if (this.#pendingSettles.length < MAX_PENDING_SETTLES) {
        this.#pendingSettles.push({ subject, id, usedTokens, now });
      }
    }
  }

  async spend(
    subject: string,
    period: string,
    initial: () => Promise<number>,
    ttlMs: number,
  ): Promise<number> {
    if (this.#shared.connected) {
      try {
        return await this.#shared.spend(subject, period, initial, ttlMs);
      } catch (error) {
        this.#setShared(false, error);
      }
    }
    return this.#local.spend(subject, period, initial, ttlMs);
  }

  async addSpend(subject: string, period: string, nanoUsd: number): Promise<void> {
    // Both: the local counter keeps the budget while Redis is away, Redis's when it answers.
    await this.#local.addSpend(subject, period, nanoUsd);
    await this.#shared.addSpend(subject, period, nanoUsd).catch(() => {});
  }

  async close(): Promise<void> {
    await this.#local.close();
    await this.#shared.close();
  }

  #setShared(shared: boolean, cause?: unknown): void {
    if (shared === this.#isShared) return;
    this.#isShared = shared;
    this.#onModeChange(shared, cause);
  }

  async #replaySettles(): Promise<void> {
    const pending = this.#pendingSettles.splice(0);
    for (const settle of pending) {
      await this.#shared.settle(settle.subject, settle.id, settle.usedTokens, settle.now).catch(() => {});
    }
  }
}
