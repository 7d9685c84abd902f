import { Redis } from "ioredis";
import {
  type LimitAcquire,
  type LimitDecision,
  type LimitState,
  PARALLEL_LEASE_MS,
  RATE_WINDOW_MS,
  type RateLimiter,
} from "./rate-limiter.ts";

/**
 * One atomic step per call, so N replicas enforce one limit: expire what left the window, check
 * every limit, and only when all pass record the request, reserve its tokens and take a slot.
 * KEYS: request log (zset), token reservations (zset by time), their sizes (hash, with the running
 * `__total`), parallel slots (zset by lease end).
 * ARGV: now, window, rpm, tpm, max parallel (0 = none), id, tokens, lease.
 */
const ACQUIRE = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local rpm = tonumber(ARGV[3])
local tpm = tonumber(ARGV[4])
local parallelLimit = tonumber(ARGV[5])
local id = ARGV[6]
local tokens = tonumber(ARGV[7])
local lease = tonumber(ARGV[8])
local windowStart = now - window
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', windowStart)
local total = tonumber(redis.call('HGET', KEYS[3], '__total') or '0')
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', windowStart)
for _, member in ipairs(expired) do
  total = total - tonumber(redis.call('HGET', KEYS[3], member) or '0')
  redis.call('HDEL', KEYS[3], member)
end
if #expired > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', windowStart) end
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
local requests = redis.call('ZCARD', KEYS[1])
local parallel = redis.call('ZCARD', KEYS[4])
local refused = ''
local retryAfter = 0
if rpm > 0 and requests >= rpm then
  refused = 'requests'
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  retryAfter = tonumber(oldest[2] or now) + window - now
elseif tpm > 0 and total >= tpm then
  refused = 'tokens'
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  retryAfter = tonumber(oldest[2] or now) + window - now
elseif parallelLimit > 0 and parallel >= parallelLimit then
  refused = 'parallel'
  retryAfter = 1000
end
if refused == '' then
  if rpm > 0 then
    redis.call('ZADD', KEYS[1], now, id)
    requests = requests + 1
  end
  if tpm > 0 then
    redis.call('ZADD', KEYS[2], now, id)
    redis.call('HSET', KEYS[3], id, tokens)
    total = total + tokens
  end
  if parallelLimit > 0 then redis.call('ZADD', KEYS[4], now + lease, id) end
end
redis.call('HSET', KEYS[3], '__total', total)
redis.call('PEXPIRE', KEYS[1], window * 2)
redis.call('PEXPIRE', KEYS[2], window * 2)
redis.call('PEXPIRE', KEYS[3], window * 2)
redis.call('PEXPIRE', KEYS[4], lease)
local newestRequest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2] or ''
local newestTokens = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')[2] or ''
return {refused, tostring(retryAfter), tostring(requests), tostring(total), newestRequest, newestTokens}
`;

/**
 * The call's tokens replace its reservation (or, once it left the window, count from now) and
 * its slot is freed. KEYS: token reservations, sizes, parallel slots. ARGV: id, tokens, now, window.
 */
const SETTLE = `
local id = ARGV[1]
local used = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local window = tonumber(ARGV[4])
redis.call('ZREM', KEYS[3], id)
local reserved = redis.call('HGET', KEYS[2], id)
local total = tonumber(redis.call('HGET', KEYS[2], '__total') or '0')
if reserved then
  redis.call('HSET', KEYS[2], id, used)
  total = total + used - tonumber(reserved)
elseif used > 0 then
  redis.call('ZADD', KEYS[1], now, id)
  redis.call('HSET', KEYS[2], id, used)
  total = total + used
  redis.call('PEXPIRE', KEYS[1], window * 2)
else
  return 0
end
redis.call('HSET', KEYS[2], '__total', total)
redis.call('PEXPIRE', KEYS[2], window * 2)
return 1
`;

/** Adds to a spend counter only once it was started from the ledger. */
const ADD_SPEND = `
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCRBY', KEYS[1], ARGV[1]) end
return false
`;

type LimiterCommands = {
  accessAcquire(...arguments_: (string | number)[]): Promise<string[]>;
  accessSettle(...arguments_: (string | number)[]): Promise<number>;
  accessAddSpend(...arguments_: (string | number)[]): Promise<number | null>;
};

export type RedisRateLimiterOptions = {
  redisUrl: string;
  /** Prefixes every key, so deployments (and tests) sharing a Redis never meet. */
  prefix: string;
  /** A command that takes longer fails, and the call is counted in process instead. */
  commandTimeoutMs?: number;
};

/** Limits shared by every replica on one Redis, each step one Lua script. */
export class RedisRateLimiter implements RateLimiter {
  readonly redis: Redis & LimiterCommands;
  readonly #prefix: string;

  constructor(options: RedisRateLimiterOptions) {
    this.#prefix = options.prefix;
    const redis = new Redis(options.redisUrl, {
      // Fail at once while disconnected: the caller counts in process meanwhile.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? 1000,
      retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
      lazyConnect: false,
      // Every call runs two scripts: those issued in one tick share one write and one read.
      enableAutoPipelining: true,
    });
    // Connection errors are reported by the failing commands; an unhandled event would crash.
    redis.on("error", () => {});
    redis.defineCommand("accessAcquire", { numberOfKeys: 4, lua: ACQUIRE });
    redis.defineCommand("accessSettle", { numberOfKeys: 3, lua: SETTLE });
    redis.defineCommand("accessAddSpend", { numberOfKeys: 1, lua: ADD_SPEND });
    this.redis = redis as Redis & LimiterCommands;
  }

  get connected(): boolean {
    return this.redis.status === "ready";
  }

  async acquire(request: LimitAcquire): Promise<LimitDecision> {
    const { limits, now } = request;
    const [refused, retryAfter, requests, total, newestRequest, newestTokens] =
      await this.redis.accessAcquire(
        ...this.#keys(request.subject),
        now,
        RATE_WINDOW_MS,
        limits.rpm ?? 0,
        limits.tpm ?? 0,
        limits.maxParallel ?? 0,
        request.id,
        request.tokens,
        PARALLEL_LEASE_MS,
      );
    const state = (limit: number | undefined, used: string, newest: string): LimitState | undefined =>
      limit === undefined
        ? undefined
        : {
            limit,
            remaining: Math.max(0, limit - Number(used)),
            resetMs: newest === "" ? 0 : Math.max(0, Number(newest) + RATE_WINDOW_MS - now),
          };
    return {
      allowed: refused === "",
      refusedBy: refused === "" ? undefined : (refused as LimitDecision["refusedBy"]),
      retryAfterMs: Number(retryAfter),
      requests: state(limits.rpm, requests, newestRequest),
      tokens: state(limits.tpm, total, newestTokens),
    };
  }

  async settle(subject: string, id: string, usedTokens: number, now: number): Promise<void> {
    const [, tokenLog, tokenSizes, parallel] = this.#keys(subject);
    await this.redis.accessSettle(tokenLog, tokenSizes, parallel, id, usedTokens, now, RATE_WINDOW_MS);
  }

  async spend(
    subject: string,
    period: string,
    initial: () => Promise<number>,
    ttlMs: number,
  ): Promise<number> {
    const key = this.#spendKey(subject, period);
    const known = await this.redis.get(key);
    if (known !== null) return Number(known);
    // The first replica to start the counter wins; the others read what it wrote.
    await this.redis.set(key, String(await initial()), "PX", ttlMs, "NX");
    return Number((await this.redis.get(key)) ?? 0);
  }

  async addSpend(subject: string, period: string, nanoUsd: number): Promise<void> {
    await this.redis.accessAddSpend(this.#spendKey(subject, period), Math.round(nanoUsd));
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }

  #keys(subject: string): [string, string, string, string] {
    // One hash tag per subject keeps its keys on one cluster slot, as a script needs.
    const base = `${this.#prefix}:limits:{${subject}}`;
    return [`${base}:requests`, `${base}:tokens`, `${base}:token-sizes`, `${base}:parallel`];
  }

  #spendKey(subject: string, period: string): string {
    return `${this.#prefix}:spend:{${subject}}:${period}`;
  }
}
