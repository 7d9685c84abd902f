// A Redis of the test's own carries the jobs (BullMQ) and the rate limits, and is killed: its
// client reconnects and queues the queue's ping until Redis is back, so /ready must stop waiting
// at its check deadline and say which dependency is down, while /health stays green.
import assert from "node:assert/strict";
import { test } from "node:test";
import { buildTestApp } from "../support/build-test-app.ts";
import { startPrivateRedis } from "../support/private-redis.ts";
import { waitFor } from "../support/wait-for.ts";

const CHECK_TIMEOUT_MS = 1000;

test("Redis down: /ready answers 503 naming job_queue within its check deadline, with the limiter's fallback; /health stays 200", {
  timeout: 60_000,
}, async (t) => {
  const redis = await startPrivateRedis(t);
  const { app, services } = await buildTestApp({
    environment: {
      LOG_LEVEL: "silent",
      REDIS_URL: redis.url,
      READY_CHECK_TIMEOUT_MS: String(CHECK_TIMEOUT_MS),
    },
  });
  t.after(() => app.close());
  const address = await app.listen({ port: 0, host: "127.0.0.1" });
  const probe = async (path: string) => {
    const startedAt = performance.now();
    // A probe that hangs fails here, not at the test's timeout.
    const response = await fetch(`${address}${path}`, { signal: AbortSignal.timeout(5000) });
    return { status: response.status, body: await response.json(), elapsedMs: performance.now() - startedAt };
  };
  await waitFor(
    "the instance to be ready with shared limits",
    async () => services.access.limitsShared() === true && (await probe("/ready")).status === 200,
  );
  assert.deepEqual((await probe("/ready")).body, { status: "ready" });

  await redis.stop();
  try {
    await waitFor("limits to fall back to this replica", () => services.access.limitsShared() === false);
    // Several probes in a row, as a load balancer sends them: each one answers in bounded time.
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const ready = await probe("/ready");
      assert.equal(ready.status, 503);
      assert.deepEqual(ready.body, {
        status: "not_ready",
        failing: ["job_queue"],
        degraded: ["rate_limits_per_replica"],
      });
      assert.ok(
        ready.elapsedMs < CHECK_TIMEOUT_MS + 1000,
        `/ready answered after ${ready.elapsedMs.toFixed(0)} ms`,
      );
      const health = await probe("/health");
      assert.equal(health.status, 200);
      assert.deepEqual(health.body, { status: "ok" });
      assert.ok(health.elapsedMs < 500, `/health answered after ${health.elapsedMs.toFixed(0)} ms`);
    }
  } finally {
    // Also when an assertion failed: the app closes its Redis clients cleanly only while Redis answers.
    await redis.start();
  }
  // Ready again, and no longer degraded once the limiter counts in Redis again.
  await waitFor(
    "/ready to pass again with shared limits",
    async () => {
      const ready = await probe("/ready");
      return ready.status === 200 && JSON.stringify(ready.body) === JSON.stringify({ status: "ready" });
    },
    { timeoutMs: 20_000 },
  );
});
