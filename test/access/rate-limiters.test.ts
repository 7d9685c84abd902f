import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { MemoryRateLimiter } from "../../src/access/memory-rate-limiter.ts";
import { RedisRateLimiter } from "../../src/access/redis-rate-limiter.ts";
import { rateLimiterConformance } from "../support/rate-limiter-conformance.ts";
import { requireRedis, TEST_REDIS_URL } from "../support/require-redis.ts";
import { waitFor } from "../support/wait-for.ts";

rateLimiterConformance("in process", test, async () => new MemoryRateLimiter());

rateLimiterConformance("Redis", test, async () => {
  await requireRedis();
  const limiter = new RedisRateLimiter({ redisUrl: TEST_REDIS_URL, prefix: `llm-api-test-${randomUUID()}` });
  await waitFor("the limiter to connect", () => limiter.connected);
  return limiter;
});

test("Redis: replicas number their calls alike, and each call still holds its own slot and reservation", async (t) => {
  await requireRedis();
  const prefix = `llm-api-test-${randomUUID()}`;
  const replicas = [1, 2].map(() => new RedisRateLimiter({ redisUrl: TEST_REDIS_URL, prefix }));
  t.after(() => Promise.all(replicas.map((replica) => replica.close())));
  for (const replica of replicas) await waitFor("the limiter to connect", () => replica.connected);
  const subject = `key:${randomUUID()}`;
  const limits = { tpm: 1000, maxParallel: 2 };
  const now = Date.now();
  // Both replicas' first call is call 1 of its process.
  const first = await replicas[0].acquire({ subject, limits, tokens: 300, id: 1, now });
  const second = await replicas[1].acquire({ subject, limits, tokens: 300, id: 1, now });
  assert.equal(first.allowed && second.allowed, true);
  assert.equal(second.tokens?.remaining, 400, "both reservations count");
  const third = await replicas[0].acquire({ subject, limits, tokens: 1, id: 2, now });
  assert.equal(third.refusedBy, "parallel", "two slots are taken, not one");
  // Settling one replica's call 1 frees its slot and sets its tokens only.
  await replicas[1].settle(subject, 1, 50, now + 1);
  const after = await replicas[0].acquire({ subject, limits, tokens: 1, id: 3, now: now + 2 });
  assert.equal(after.allowed, true);
  assert.equal(after.tokens?.remaining, 1000 - 300 - 50 - 1);
});
