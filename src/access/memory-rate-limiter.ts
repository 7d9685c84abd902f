import {
  type LimitAcquire,
  type LimitDecision,
  type LimitState,
  PARALLEL_LEASE_MS,
  RATE_WINDOW_MS,
  type RateLimiter,
} from "./rate-limiter.ts";
import { TimeQueue } from "./time-queue.ts";
import { TokenWindow } from "./token-window.ts";

type Subject = {
  /** Times of the requests in the window, oldest first. */
  requests: TimeQueue;
  tokens: TokenWindow;
  /** Open parallel slots and when their lease ends (expired ones are swept when they would refuse a call). */
  parallel: Map<number, number>;
  lastUsed: number;
};

/**
 * How long a spend counter is trusted before the ledger is read again: replicas that share a
 * database but no Redis then see each other's spend within this, plus the ledger's flush interval.
 */
export const LOCAL_SPEND_REREAD_MS = 5000;

/** How often subjects with nothing left in their window are forgotten. */
const SWEEP_MS = RATE_WINDOW_MS;

/** The limits of one instance, counted in this process. */
export class MemoryRateLimiter implements RateLimiter {
  readonly #subjects = new Map<string, Subject>();
  readonly #spend = new Map<string, { nanoUsd: number; expiresAt: number }>();
  readonly #sweep: NodeJS.Timeout;
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
    this.#sweep = setInterval(() => this.#forgetIdle(), SWEEP_MS);
    this.#sweep.unref();
  }

  async acquire(request: LimitAcquire): Promise<LimitDecision> {
    return this.acquireNow(request);
  }

  /** The same as `acquire`, synchronously: the Redis limiter's fallback needs no await. */
  acquireNow(request: LimitAcquire): LimitDecision {
    const { limits, now } = request;
    const subject = this.#subject(request.subject, now);
    const windowStart = now - RATE_WINDOW_MS;
    subject.requests.dropThrough(windowStart);
    subject.tokens.dropThrough(windowStart);
    if (limits.maxParallel !== undefined && subject.parallel.size >= limits.maxParallel) {
      for (const [id, leaseEnd] of subject.parallel) if (leaseEnd <= now) subject.parallel.delete(id);
    }

    const refusedBy: LimitDecision["refusedBy"] =
      limits.rpm !== undefined && subject.requests.length >= limits.rpm
        ? "requests"
        : limits.tpm !== undefined && subject.tokens.total >= limits.tpm
          ? "tokens"
          : limits.maxParallel !== undefined && subject.parallel.size >= limits.maxParallel
            ? "parallel"
            : undefined;
    let retryAfterMs = 0;
    if (refusedBy === "requests") retryAfterMs = (subject.requests.oldest ?? now) + RATE_WINDOW_MS - now;
    else if (refusedBy === "tokens") retryAfterMs = (subject.tokens.oldestTime ?? now) + RATE_WINDOW_MS - now;
    else if (refusedBy === "parallel") retryAfterMs = 1000;
    else {
      if (limits.rpm !== undefined) subject.requests.push(now);
      if (limits.tpm !== undefined) subject.tokens.reserve(request.id, now, request.tokens);
      if (limits.maxParallel !== undefined) subject.parallel.set(request.id, now + PARALLEL_LEASE_MS);
    }
    // One object a decision: every keyed call makes one, so no closure or spread builds it.
    return {
      allowed: refusedBy === undefined,
      refusedBy,
      retryAfterMs,
      requests:
        limits.rpm === undefined
          ? undefined
          : windowState(limits.rpm, subject.requests.length, subject.requests.newest, now),
      tokens:
        limits.tpm === undefined
          ? undefined
          : windowState(limits.tpm, subject.tokens.total, subject.tokens.newestTime, now),
    };
  }

  async settle(subjectName: string, id: number, usedTokens: number, now: number): Promise<void> {
    this.settleNow(subjectName, id, usedTokens, now);
  }

  settleNow(subjectName: string, id: number, usedTokens: number, now: number): void {
    const subject = this.#subjects.get(subjectName);
    if (subject === undefined) return;
    subject.parallel.delete(id);
    subject.tokens.settle(id, usedTokens, now);
  }

  async spend(
    subject: string,
    period: string,
    initial: () => Promise<number>,
    ttlMs: number,
  ): Promise<number> {
    const name = `${subject}|${period}`;
    const known = this.#spend.get(name);
    if (known !== undefined && known.expiresAt > this.#now()) return known.nanoUsd;
    const nanoUsd = await initial();
    // Another call may have started the counter while the ledger was read.
    const raced = this.#spend.get(name);
    if (raced !== undefined && raced.expiresAt > this.#now()) return raced.nanoUsd;
    this.#spend.set(name, { nanoUsd, expiresAt: this.#now() + Math.min(ttlMs, LOCAL_SPEND_REREAD_MS) });
    return nanoUsd;
  }

  async addSpend(subject: string, period: string, nanoUsd: number): Promise<void> {
    const counter = this.#spend.get(`${subject}|${period}`);
    if (counter !== undefined) counter.nanoUsd += nanoUsd;
  }

  async close(): Promise<void> {
    clearInterval(this.#sweep);
  }

  #subject(name: string, now: number): Subject {
    let subject = this.#subjects.get(name);
    if (subject === undefined) {
      subject = {
        requests: new TimeQueue(),
        tokens: new TokenWindow(),
        parallel: new Map(),
        lastUsed: now,
      };
      this.#subjects.set(name, subject);
    }
    subject.lastUsed = now;
    return subject;
  }

  #forgetIdle(): void {
    const now = this.#now();
    for (const [name, subject] of this.#subjects) {
      for (const [id, leaseEnd] of subject.parallel) if (leaseEnd <= now) subject.parallel.delete(id);
      subject.tokens.forgetLapsed();
      if (subject.parallel.size === 0 && subject.lastUsed <= now - RATE_WINDOW_MS)
        this.#subjects.delete(name);
    }
    for (const [name, counter] of this.#spend) if (counter.expiresAt <= now) this.#spend.delete(name);
  }
}

/** What is left of a window and when it is whole again (the newest entry leaves it). */
function windowState(limit: number, used: number, newest: number | undefined, now: number): LimitState {
  return {
    limit,
    remaining: Math.max(0, limit - used),
    resetMs: newest === undefined ? 0 : Math.max(0, newest + RATE_WINDOW_MS - now),
  };
}
