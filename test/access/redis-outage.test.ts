// A Redis of our own is killed and started again while two instances serve one key: callers never
// see a 5xx, limits hold per replica meanwhile, and shared counting resumes once Redis is back.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { privateAccessStore, startAccessTestApp } from "../support/access-test-app.ts";
import { startFakeLlmUpstream } from "../support/fake-llm-upstream.ts";
import { startPrivateRedis } from "../support/private-redis.ts";
import { sampleValue } from "../support/prometheus-text.ts";
import { waitFor } from "../support/wait-for.ts";

test("Redis stopped mid-run: no 5xx, limits enforced per replica, shared counting again once Redis is back", async (t) => {
  const redis = await startPrivateRedis(t);
  const upstream = await startFakeLlmUpstream();
  t.after(() => upstream.close());
  const accessStore = privateAccessStore();
  t.after(() => accessStore.close());
  const redisPrefix = `llm-api-test-${randomUUID()}`;
  const environment = { REDIS_URL: redis.url };
  // Jobs stay in SQLite: this test takes Redis away from the limits alone.
  const options = { upstream, accessStore, redisPrefix, environment, sqliteJobs: true };
  const instances = [await startAccessTestApp(t, options), await startAccessTestApp(t, options)];
  const shared = (value: boolean) =>
    waitFor(`limits to be ${value ? "shared" : "per replica"}`, () =>
      instances.every((instance) => instance.services.access.limitsShared() === value),
    );
  await shared(true);

  /** Sends `count` requests alternately; answers how many passed, and fails on any 5xx. */
  const send = async (key: string, count: number) => {
    let passed = 0;
    for (let index = 0; index < count; index += 1) {
      const response = await instances[index % 2].post("/chat", key, { message: "hi" });
      await response.arrayBuffer();
      assert.ok(response.status < 500, `request ${index} got ${response.status}`);
      if (response.status === 200) passed += 1;
      else assert.equal(response.status, 429);
    }
    return passed;
  };

  const before = await instances[0].createKey({ name: "before", rpm: 10 });
  assert.equal(await send(before.key, 16), 10, "shared: one limit for both instances");

  await redis.stop();
  const during = await instances[0].createKey({ name: "during", rpm: 10 });
  assert.equal(await send(during.key, 30), 20, "per replica: each instance enforces the limit on its own");
  await shared(false);
  for (const instance of instances) {
    const ready = await fetch(`${instance.address}/ready`);
    assert.equal(ready.status, 200);
    assert.deepEqual(((await ready.json()) as { degraded?: string[] }).degraded, ["rate_limits_per_replica"]);
    const metrics = await (
      await fetch(`${instance.address}/metrics`, { headers: instance.bearer("admin-canary-key-0123456789") })
    ).text();
    assert.equal(sampleValue(metrics, "llm_api_rate_limits_shared"), 0);
    assert.ok(sampleValue(metrics, "llm_api_rate_limit_fallbacks_total") >= 1);
    assert.ok(instance.logs.lines().some((line) => /Redis cannot be reached/.test(String(line.msg))));
  }

  await redis.start();
  await shared(true);
  const after = await instances[0].createKey({ name: "after", rpm: 10 });
  assert.equal(await send(after.key, 16), 10, "shared again");
  for (const instance of instances) {
    assert.deepEqual(
      ((await (await fetch(`${instance.address}/ready`)).json()) as { degraded?: string[] }).degraded,
      undefined,
    );
  }
});
