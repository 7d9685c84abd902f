import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import {
  type LimitAcquire,
  type LimitDecision,
  type LimitState,
  PARALLEL_LEASE_MS,
  RATE_WINDOW_MS,
  type RateLimiter,
} from "./rate-limiter.ts";
import { TickBatcher } from "./tick-batcher.ts";

/**
 * One atomic step for the calls of one subject that arrived in the same turn of the event loop,
 * taken in order as if each were its own script, so N replicas enforce one limit: for each call,
 * expire what left its window, check every limit, and only when all pass record the request,
 * reserve its tokens and take a slot.
 * KEYS: request log (zset), token reservations (zset by time), their sizes (hash, with the running
 * `__total`), parallel slots (zset by lease end).
 * ARGV: window, rpm, tpm, max parallel (0 = none), lease, then per call: now, id, tokens.
 * Returns per call: refused ('' when admitted), retry after, requests, tokens in the window, and
 * the times of the newest request and reservation ('' when none).
 */
const ACQUIRE = `
local window = tonumber(ARGV[1])
local rpm = tonumber(ARGV[2])
local tpm = tonumber(ARGV[3])
local parallelLimit = tonumber(ARGV[4])
local lease = tonumber(ARGV[5])
local total = tonumber(redis.call('HGET', KEYS[3], '__total') or '0')
local newestRequest = tonumber(redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2])
local newestTokens = tonumber(redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')[2])
local expiredAt = nil
local requests = 0
local parallel = 0
local results = {}
for index = 6, #ARGV, 3 do
  local now = tonumber(ARGV[index])
  local id = ARGV[index + 1]
  local tokens = tonumber(ARGV[index + 2])
  local windowStart = now - window
  -- Calls of one turn mostly share a millisecond: expire once for it.
  if now ~= expiredAt then
    redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', windowStart)
    local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', windowStart)
    for _, member in ipairs(expired) do
      total = total - tonumber(redis.call('HGET', KEYS[3], member) or '0')
      redis.call('HDEL', KEYS[3], member)
    end
    if #expired > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', windowStart) end
    redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
    requests = redis.call('ZCARD', KEYS[1])
    parallel = redis.call('ZCARD', KEYS[4])
    if newestRequest ~= nil and newestRequest <= windowStart then newestRequest = nil end
    if newestTokens ~= nil and newestTokens <= windowStart then newestTokens = nil end
    expiredAt = now
  end
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
      if newestRequest == nil or now > newestRequest then newestRequest = now end
    end
    if tpm > 0 then
      redis.call('ZADD', KEYS[2], now, id)
      redis.call('HSET', KEYS[3], id, tokens)
      total = total + tokens
      if newestTokens == nil or now > newestTokens then newestTokens = now end
    end
    if parallelLimit > 0 then
      redis.call('ZADD', KEYS[4], now + lease, id)
      parallel = parallel + 1
    end
  end
  results[#results + 1] = refused
  results[#results + 1] = tostring(retryAfter)
  results[#results + 1] = tostring(requests)
  results[#results + 1] = tostring(total)
  results[#results + 1] = newestRequest == nil and '' or string.format('%d', newestRequest)
  results[#results + 1] = newestTokens == nil and '' or string.format('%d', newestTokens)
end
redis.call('HSET', KEYS[3], '__total', total)
redis.call('PEXPIRE', KEYS[1], window * 2)
redis.call('PEXPIRE', KEYS[2], window * 2)
redis.call('PEXPIRE', KEYS[3], window * 2)
redis.call('PEXPIRE', KEYS[4], lease)
return results
`;

/**
 * For each call of one subject settled in the same turn: its tokens replace its reservation (or,
 * once it left the window, count from now) and its slot is freed.
 * KEYS: token reservations, sizes, parallel slots. ARGV: window, then per call: id, tokens, now.
 */
const SETTLE = `
local window = tonumber(ARGV[1])
local total = tonumber(redis.call('HGET', KEYS[2], '__total') or '0')
local changed = false
local logged = false
for index = 2, #ARGV, 3 do
  local id = ARGV[index]
  local used = tonumber(ARGV[index + 1])
  local now = tonumber(ARGV[index + 2])
  redis.call('ZREM', KEYS[3], id)
  local reserved = redis.call('HGET', KEYS[2], id)
  if reserved then
    redis.call('HSET', KEYS[2], id, used)
    total = total + used - tonumber(reserved)
    changed = true
  elseif used > 0 then
    redis.call('ZADD', KEYS[1], now, id)
    redis.call('HSET', KEYS[2], id, used)
    total = total + used
    changed = true
    logged = true
  end
end
if logged then redis.call('PEXPIRE', KEYS[1], window * 2) end
if changed then
  redis.call('HSET', KEYS[2], '__total', total)
  redis.call('PEXPIRE', KEYS[2], window * 2)
end
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

type PendingSettle = Readonly<{ subject: string; id: number; usedTokens: number; now: number }>;

/** One call's decision from its six replies of the acquire script. */
function decisionOf(request: LimitAcquire, replies: readonly string[]): LimitDecision {
  const [refused, retryAfter, requests, total, newestRequest, newestTokens] = replies;
  const { limits, now } = request;
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

/** Limits shared by every replica on one Redis, each step one Lua script for the calls of a turn. */
export class RedisRateLimiter implements RateLimiter {
  readonly redis: Redis & LimiterCommands;
  readonly #prefix: string;
  /**
   * Names this instance's calls in Redis, where every replica's are kept side by side: a random
   * prefix per instance before each call's sequence number.
   */
  readonly #callPrefix = `${randomBytes(9).toString("base64url")}:`;
  // A script per subject per turn of the event loop, not per call: under load the calls of one
  // key share one script, which is most of Redis's work and of ioredis's. A script takes at most
  // 256 calls, so a burst never blocks Redis with one long script or passes too many arguments.
  readonly #acquires = new TickBatcher<LimitAcquire, LimitDecision>((_group, requests) =>
    this.#acquireBatch(requests),
  );
  readonly #settles = new TickBatcher<PendingSettle, undefined>((_subject, settles) =>
    this.#settleBatch(settles),
  );

  constructor(options: RedisRateLimiterOptions) {
    this.#prefix = options.prefix;
    const redis = new Redis(options.redisUrl, {
      // Fail at once while disconnected: the caller counts in process meanwhile.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? 1000,
      retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
      lazyConnect: false,
      // The scripts of one turn (one per subject, and the spend counters) share one write and one read.
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

  acquire(request: LimitAcquire): Promise<LimitDecision> {
    const { limits } = request;
    // Calls of one subject under other limits (a key changed mid-turn) go in a batch of their own.
    return this.#acquires.add(
      `${request.subject}|${limits.rpm ?? 0}|${limits.tpm ?? 0}|${limits.maxParallel ?? 0}`,
      request,
    );
  }

  settle(subject: string, id: number, usedTokens: number, now: number): Promise<void> {
    return this.#settles.add(subject, { subject, id, usedTokens, now });
  }

  async #acquireBatch(requests: readonly LimitAcquire[]): Promise<LimitDecision[]> {
    const { subject, limits } = requests[0];
    const callArguments: (string | number)[] = [];
    for (const request of requests) {
      callArguments.push(request.now, `${this.#callPrefix}${request.id}`, request.tokens);
    }
    const replies = await this.redis.accessAcquire(
      ...this.#keys(subject),
      RATE_WINDOW_MS,
      limits.rpm ?? 0,
      limits.tpm ?? 0,
      limits.maxParallel ?? 0,
      PARALLEL_LEASE_MS,
      ...callArguments,
    );
    return requests.map((request, index) => decisionOf(request, replies.slice(index * 6, index * 6 + 6)));
  }

  async #settleBatch(settles: readonly PendingSettle[]): Promise<undefined[]> {
    const [, tokenLog, tokenSizes, parallel] = this.#keys(settles[0].subject);
    const callArguments: (string | number)[] = [];
    for (const settle of settles) {
      callArguments.push(`${this.#callPrefix}${settle.id}`, settle.usedTokens, settle.now);
    }
    await this.redis.accessSettle(tokenLog, tokenSizes, parallel, RATE_WINDOW_MS, ...callArguments);
    return settles.map(() => undefined);
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
