import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { PostgresAccessStore } from "../../src/access/postgres-access-store.ts";
import { privateAccessStore, startAccessTestApp } from "../support/access-test-app.ts";
import { startFakeLlmUpstream } from "../support/fake-llm-upstream.ts";
import { sampleValue } from "../support/prometheus-text.ts";
import {
  dropSchema,
  requirePostgres,
  TEST_DATABASE_URL,
  uniqueSchemaName,
} from "../support/require-postgres.ts";
import { requireRedis, TEST_REDIS_URL } from "../support/require-redis.ts";
import { startTcpProxy } from "../support/tcp-proxy.ts";
import { waitFor } from "../support/wait-for.ts";

// The fake upstream reports 7 prompt and 3 completion tokens a call: at these prices a call
// costs 7 * 100 + 3 * 1000 = 3,700 micro-dollars, $0.0037.
const PRICES = { "openai:fake-model": { input_per_mtok: 100, output_per_mtok: 1000 } };
const CALL_COST_NANO_USD = 7 * 100 * 1000 + 3 * 1000 * 1000;
const MODEL_PRICES = JSON.stringify(PRICES);
const message = { message: "hi" };

test("a $0.01 budget at a price set in the configuration: refused with insufficient_quota once the ledger reaches it; /admin/usage matches exactly", async (t) => {
  const service = await startAccessTestApp(t, { environment: { MODEL_PRICES } });
  const { key, id } = await service.createKey({ name: "cent", budget_usd: 0.01, budget_period: "month" });
  const { key: other, id: otherId } = await service.createKey({ name: "other" });

  const statuses: number[] = [];
  for (let index = 0; index < 6; index += 1) {
    const response = await service.post("/chat", key, message);
    statuses.push(response.status);
    const body = (await response.json()) as { error?: { code: string } };
    if (response.status === 429) assert.equal(body.error?.code, "INSUFFICIENT_QUOTA");
  }
  // 3 calls spend $0.0111, past $0.01: the fourth and later are refused.
  assert.deepEqual(statuses, [200, 200, 200, 429, 429, 429]);
  const openai = await service.post("/v1/chat/completions", key, {
    messages: [{ role: "user", content: "hi" }],
  });
  assert.equal(openai.status, 429);
  const openaiError = ((await openai.json()) as { error: Record<string, string> }).error;
  assert.equal(openaiError.code, "insufficient_quota");
  assert.equal(openaiError.type, "insufficient_quota");
  assert.equal(service.upstream.requests.length, 3, "refused calls never reached the model");

  for (let index = 0; index < 2; index += 1)
    await (await service.post("/chat", other, message)).arrayBuffer();

  const [mine] = (await service.usage(`key_id=${id}`)).data;
  assert.deepEqual(mine, {
    group: null,
    requests: 3,
    input_tokens: 21,
    output_tokens: 9,
    cached_input_tokens: 0,
    total_tokens: 30,
    cost_usd: (3 * CALL_COST_NANO_USD) / 1e9,
  });
  const byKey = (await service.usage("group_by=key")).data;
  assert.deepEqual(
    byKey.map((row) => [row.group, row.requests, row.cost_usd]).sort(),
    [
      [id, 3, (3 * CALL_COST_NANO_USD) / 1e9],
      [otherId, 2, (2 * CALL_COST_NANO_USD) / 1e9],
    ].sort(),
  );
  const byModel = (await service.usage("group_by=model")).data;
  assert.deepEqual(
    byModel.map((row) => [row.group, row.requests]),
    [["openai:fake-model", 5]],
  );
  const today = new Date().toISOString().slice(0, 10);
  const byDay = (await service.usage(`group_by=day&from=${today}`)).data;
  assert.deepEqual(
    byDay.map((row) => [row.group, row.requests, row.total_tokens]),
    [[today, 5, 50]],
  );
  const none = (await service.usage("from=2000-01-01&to=2000-01-02")).data;
  assert.equal(none[0].requests, 0);
  const badDate = await fetch(`${service.address}/admin/usage?from=yesterday`, {
    headers: service.bearer("admin-canary-key-0123456789"),
  });
  assert.equal(badDate.status, 400);
});

test("concurrent calls overshoot the budget by less than max_parallel calls' cost, as the README states", async (t) => {
  const service = await startAccessTestApp(t, { environment: { MODEL_PRICES } });
  service.upstream.script({ firstChunkDelayMs: 100 });
  const maxParallel = 4;
  const { key, id } = await service.createKey({ name: "racy", budget_usd: 0.01, max_parallel: maxParallel });

  let quotaRefused = 0;
  for (let wave = 0; wave < 10 && quotaRefused === 0; wave += 1) {
    const responses = await Promise.all(
      Array.from({ length: maxParallel }, () => service.post("/chat", key, message)),
    );
    for (const response of responses) {
      const body = (await response.json()) as { error?: { code: string } };
      if (body.error?.code === "INSUFFICIENT_QUOTA") quotaRefused += 1;
    }
  }
  assert.ok(quotaRefused > 0, "the budget stopped the key");
  const [spent] = (await service.usage(`key_id=${id}`)).data;
  const spentNano = Math.round(Number(spent.cost_usd) * 1e9);
  assert.ok(spentNano >= 0.01 * 1e9, `spent ${spentNano}`);
  assert.ok(
    spentNano - 0.01 * 1e9 < maxParallel * CALL_COST_NANO_USD,
    `overshoot ${spentNano - 0.01 * 1e9} nano-dollars, bound ${maxParallel * CALL_COST_NANO_USD}`,
  );
});

test("two instances on one Redis share the spend counter: exactly 3 calls of $0.0037 pass a $0.01 budget", async (t) => {
  await requireRedis();
  const upstream = await startFakeLlmUpstream();
  t.after(() => upstream.close());
  const accessStore = privateAccessStore();
  t.after(() => accessStore.close());
  const redisPrefix = `llm-api-test-${randomUUID()}`;
  const environment = { REDIS_URL: TEST_REDIS_URL, MODEL_PRICES };
  const first = await startAccessTestApp(t, { upstream, accessStore, redisPrefix, environment });
  const second = await startAccessTestApp(t, { upstream, accessStore, redisPrefix, environment });
  for (const service of [first, second]) {
    await waitFor("limits to be shared on Redis", () => service.services.access.limitsShared() === true);
  }
  const { key } = await first.createKey({ name: "shared-cent", budget_usd: 0.01, budget_period: "day" });
  const statuses: number[] = [];
  for (let index = 0; index < 8; index += 1) {
    const response = await (index % 2 === 0 ? first : second).post("/chat", key, message);
    statuses.push(response.status);
    await response.arrayBuffer();
  }
  assert.deepEqual(statuses, [200, 200, 200, 429, 429, 429, 429, 429]);
});

test("the ledger's store stopped mid-run: requests keep succeeding, and the dropped-row metric and log say how many were lost", async (t) => {
  await requirePostgres();
  const target = new URL(TEST_DATABASE_URL);
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  t.after(() => proxy.close());
  const schema = uniqueSchemaName();
  t.after(() => dropSchema(schema));
  const viaProxy = new URL(TEST_DATABASE_URL);
  viaProxy.port = String(proxy.port);
  const accessStore = new PostgresAccessStore({
    connectionString: viaProxy.toString(),
    schema,
    connectionTimeoutMs: 1000,
  });
  t.after(() => accessStore.close());
  const staticKey = "static-canary-key-0123456789";
  const service = await startAccessTestApp(t, {
    accessStore,
    environment: { API_KEYS: staticKey, USAGE_BUFFER_ROWS: "5" },
  });
  const send = async (count: number) => {
    for (let index = 0; index < count; index += 1) {
      const response = await service.post("/chat", staticKey, message);
      assert.equal(response.status, 200);
      await response.arrayBuffer();
    }
  };
  const ledgerRows = async () => (await accessStore.queryUsage({}))[0].requests;

  await send(4);
  await waitFor("the first 4 rows to be written", async () => (await ledgerRows()) === 4);

  await proxy.stop();
  await send(20);
  // 5 rows wait in the buffer; the other 15 had no room.
  const dropped = async () =>
    sampleValue(
      await (await fetch(`${service.address}/metrics`, { headers: service.bearer(staticKey) })).text(),
      "llm_api_usage_rows_dropped_total",
    );
  await waitFor("the dropped rows to be counted", async () => (await dropped()) === 15);
  const logged = service.logs
    .lines()
    .filter((line) => typeof line.dropped_rows === "number")
    .reduce((sum, line) => sum + Number(line.dropped_rows), 0);
  assert.equal(logged, 15, "the log says how many rows were lost");

  await proxy.start();
  await waitFor("the buffered rows to be written once the store is back", async () => {
    try {
      return (await ledgerRows()) === 9;
    } catch {
      return false;
    }
  });
  assert.equal(
    (await ledgerRows()) + (await dropped()),
    24,
    "every call is in the ledger or counted as dropped",
  );
});
