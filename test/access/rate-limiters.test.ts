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
