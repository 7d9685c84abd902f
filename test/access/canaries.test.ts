// Secrets sent in every place a client can put them, and set in the environment, must come back
// nowhere: no log line, metric, error body, trace, usage row or /trace-check answer.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import type { InjectOptions } from "fastify";
import { SqliteAccessStore } from "../../src/access/sqlite-access-store.ts";
import { buildTestApp } from "../support/build-test-app.ts";
import { startFakeLlmUpstream } from "../support/fake-llm-upstream.ts";
import { startRecordingServer } from "../support/recording-server.ts";

const ADMIN = "canary-admin-9f1c2e7d5b3a";
const PROVIDER = "sk-canary-provider-4d8e2a6c";

test("canary keys in headers, query and body, and in the environment, appear in no log, metric, error body, trace, usage row or /trace-check", async (t) => {
  const upstream = await startFakeLlmUpstream();
  t.after(() => upstream.close());
  const collector = await startRecordingServer();
  t.after(() => collector.close());
  const file = path.join(mkdtempSync(path.join(tmpdir(), "canary-store-")), "access.sqlite");
  const accessStore = new SqliteAccessStore(file);
  t.after(() => accessStore.close());
  const { app, logs } = await buildTestApp({
    environment: {
      ADMIN_API_KEY: ADMIN,
      LLM_MODEL: "openai:fake-model",
      OPENAI_BASE_URL: upstream.baseUrl,
      OPENAI_API_KEY: PROVIDER,
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      LLM_MAX_RETRIES: "0",
    },
    accessStore,
  });
  const created = await app.inject({
    method: "POST",
    url: "/admin/keys",
    headers: { authorization: `Bearer ${ADMIN}` },
    payload: { name: "canary", rpm: 1000 },
  });
  const virtual = created.json().key as string;
  const canaries = [ADMIN, virtual, PROVIDER];

  const bodies: string[] = [];
  const send = async (options: InjectOptions) => {
    const response = await app.inject(options);
    if (response.statusCode >= 400) bodies.push(response.body);
    bodies.push(JSON.stringify(response.headers));
    return response;
  };
  for (const canary of canaries) {
    for (const auth of [{ authorization: `Bearer ${canary}` }, { "x-api-key": canary }]) {
      // Not x-request-id: a client's own request id is echoed by contract, whatever it holds.
      const headers = { ...auth, cookie: `session=${canary}`, "x-custom": canary, traceparent: canary };
      await send({ method: "GET", url: `/v1/models?api_key=${canary}`, headers });
      await send({ method: "GET", url: `/trace-check?token=${canary}`, headers });
      await send({ method: "GET", url: `/no-such-route/${canary}?key=${canary}`, headers });
      await send({ method: "GET", url: `/admin/usage?key_id=${canary}&model=${canary}`, headers });
      await send({ method: "GET", url: `/admin/keys/${canary}`, headers });
      // Not /status/{id}: its 404 names the id asked for, by contract.
      await send({
        method: "POST",
        url: "/chat",
        headers,
        payload: { message: `my key is ${canary}`, model: canary },
      });
      await send({ method: "POST", url: "/chat", headers, payload: { message: canary } });
      await send({ method: "POST", url: "/chat", headers, payload: { message: "hi", [canary]: canary } });
      await send({
        method: "POST",
        url: "/v1/chat/completions",
        headers,
        payload: { model: canary, user: canary, messages: [{ role: "user", content: canary }] },
      });
      await send({
        method: "POST",
        url: "/v1/chat/completions",
        headers,
        payload: { messages: [{ role: "user", content: `hello ${canary}` }], user: canary },
      });
      await send({
        method: "POST",
        url: "/v1/embeddings",
        headers,
        payload: { input: canary, model: canary },
      });
      await send({
        method: "POST",
        url: "/ingest",
        headers,
        payload: { source: `https://user:${canary}@example.com/?k=${canary}` },
      });
      await send({
        method: "POST",
        url: "/admin/keys",
        headers,
        payload: { name: canary, metadata: { [canary]: 1 }, bogus: canary },
      });
      await send({
        method: "POST",
        url: "/chat",
        headers: { ...headers, "content-type": "text/plain" },
        payload: canary,
      });
      await send({
        method: "POST",
        url: "/chat",
        headers: { ...headers, "content-type": "application/json" },
        payload: `{"message": "${canary}"`,
      });
    }
  }
  const traceCheck = await send({
    method: "GET",
    url: "/trace-check",
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  bodies.push(traceCheck.body);
  const metrics = (
    await send({ method: "GET", url: "/metrics", headers: { authorization: `Bearer ${ADMIN}` } })
  ).body;
  await app.close();

  const database = new DatabaseSync(file, { readOnly: true });
  const usageRows = JSON.stringify(database.prepare("SELECT * FROM usage_ledger").all());
  const keyRows = JSON.stringify(
    database.prepare("SELECT id, digest, models, metadata FROM virtual_keys").all(),
  );
  database.close();
  assert.ok(usageRows.length > 100, "the ledger holds the calls");
  const traces = collector.requests.map((request) => request.body).join("\n");
  assert.ok(traces.length > 0, "spans were exported");

  const places: Record<string, string> = {
    logs: logs.text(),
    metrics,
    "error bodies and headers": bodies.join("\n"),
    traces,
    "usage rows": usageRows,
    "the key store": keyRows,
  };
  for (const canary of canaries) {
    for (const [place, text] of Object.entries(places)) {
      assert.ok(
        !text.includes(canary),
        `${canary.slice(0, 12)}… appears in ${place}: …${text.slice(Math.max(0, text.indexOf(canary) - 200), text.indexOf(canary) + 40)}`,
      );
    }
  }
});
