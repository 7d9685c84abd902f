import assert from "node:assert/strict";
import { test } from "node:test";
import { buildTestApp } from "../support/build-test-app.ts";
import { llmCall } from "../support/llm-calls.ts";
import { type RecordedRequest, startRecordingServer } from "../support/recording-server.ts";

const CANARIES = {
  openai: "sk-canary-openai-7d3f9a1b",
  anthropic: "sk-ant-canary-2c8e4f6a",
  langsmith: "lsv2-canary-langsmith-5b1d",
  client: "canary-client-key-0e9c",
  collectorPassword: "canary-otel-password-4a7f",
} as const;

test("canary secrets, in the environment and in request headers, appear in no log, metric, error body, trace or /trace-check", async (t) => {
  const collector = await startRecordingServer();
  const langsmith = await startRecordingServer((request) =>
    request.url === "/info" ? { body: { batch_ingest_config: { use_multipart_endpoint: false } } } : {},
  );
  t.after(() => Promise.all([collector.close(), langsmith.close()]));
  const collectorUrl = new URL(collector.url);
  collectorUrl.username = "otel";
  collectorUrl.password = CANARIES.collectorPassword;

  const { app, logs } = await buildTestApp({
    environment: {
      OPENAI_API_KEY: CANARIES.openai,
      ANTHROPIC_API_KEY: CANARIES.anthropic,
      API_KEYS: CANARIES.client,
      LANGSMITH_TRACING: "true",
      LANGSMITH_API_KEY: CANARIES.langsmith,
      LANGSMITH_ENDPOINT: langsmith.url,
      OTEL_EXPORTER_OTLP_ENDPOINT: collectorUrl.toString(),
      LLM_MODEL: "openai:gpt-4o-mini",
    },
    extend: (instance) => {
      // A model call whose upstream failure quotes the key, as careless providers and proxies do.
      instance.post("/test/leaky-chat", async (request) => {
        const call = instance.llmCallObserver.start(llmCall({ requestId: request.id }));
        call.upstreamHeaders();
        call.retry("server_error");
        call.end({ outcome: "error", errorType: "UPSTREAM_ERROR", output: "" });
        throw new Error(`upstream said: invalid key ${CANARIES.openai} (${CANARIES.anthropic})`);
      });
    },
  });

  const bearer = { authorization: `Bearer ${CANARIES.client}` };
  const responses = [
    await app.inject({ method: "POST", url: "/test/leaky-chat", headers: bearer }),
    await app.inject({ method: "GET", url: "/nowhere", headers: { "x-api-key": CANARIES.client } }),
    await app.inject({ method: "GET", url: "/", headers: { authorization: `Bearer ${CANARIES.openai}` } }),
    await app.inject({ method: "GET", url: "/trace-check", headers: bearer }),
    await app.inject({ method: "GET", url: "/metrics", headers: bearer }),
  ];
  assert.equal(responses[0].statusCode, 500);
  assert.equal(responses[3].statusCode, 200);
  assert.equal(responses[4].statusCode, 200);
  await app.close();

  const runBodies = (requests: RecordedRequest[]) =>
    requests.filter((request) => request.url.startsWith("/runs")).map((request) => request.body);
  const spanBodies = collector.requests.map((request) => request.body);
  assert.ok(spanBodies.length > 0, "spans were exported");
  assert.ok(runBodies(langsmith.requests).length > 0, "runs were sent");

  const places: Record<string, string> = {
    "response bodies and headers": responses
      .map((response) => `${JSON.stringify(response.headers)}\n${response.body}`)
      .join("\n"),
    logs: logs.text(),
    "exported spans": spanBodies.join("\n"),
    "LangSmith runs": runBodies(langsmith.requests).join("\n"),
  };
  for (const [where, text] of Object.entries(places)) {
    for (const [name, secret] of Object.entries(CANARIES)) {
      assert.ok(!text.includes(secret), `the ${name} canary appears in ${where}`);
    }
  }
  assert.match(logs.text(), /model call failed/);
});
