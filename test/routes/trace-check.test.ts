import assert from "node:assert/strict";
import { test } from "node:test";
import { buildTestApp } from "../support/build-test-app.ts";
import { startRecordingServer } from "../support/recording-server.ts";

test("GET /trace-check reports LangSmith and OpenTelemetry state and the request id", async (t) => {
  // A real collector, so the span of this request exports (and shutdown flushes) at once.
  const collector = await startRecordingServer();
  const port = new URL(collector.url).port;
  const { app } = await buildTestApp({
    environment: {
      LANGSMITH_TRACING: "true",
      LANGSMITH_API_KEY: "lsv2-secret-key-987654",
      LANGSMITH_PROJECT: "my-project",
      LANGSMITH_ENDPOINT: `http://ls-user:ls-password@127.0.0.1:${port}/api?token=abc`,
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://otel-user:otel-password@127.0.0.1:${port}/base?key=xyz`,
      OTEL_SERVICE_NAME: "chat-api",
    },
  });
  // The app first, so its last spans reach the collector before the collector goes.
  t.after(async () => {
    await app.close();
    await collector.close();
  });
  const response = await app.inject({
    method: "GET",
    url: "/trace-check",
    headers: {
      "x-request-id": "check-1",
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    },
  });
  assert.equal(response.statusCode, 200);
  assert.deepEqual(response.json(), {
    langsmith_tracing: true,
    langsmith_project: "my-project",
    has_langsmith_api_key: true,
    langsmith_endpoint: `http://127.0.0.1:${port}/api`,
    request_id: "check-1",
    otel_tracing: true,
    otel_exporter: "otlp_http",
    otel_endpoint: `http://127.0.0.1:${port}/base/v1/traces`,
    otel_service_name: "chat-api",
    trace_id: "0af7651916cd43dd8448eb211c80319c",
  });
  for (const secret of ["lsv2-secret-key-987654", "ls-password", "otel-password", "abc", "xyz"]) {
    assert.ok(!response.body.includes(secret), `${secret} is not shown`);
  }
});

test("GET /trace-check with nothing configured", async (t) => {
  const { app } = await buildTestApp();
  t.after(() => app.close());
  const body = (await app.inject({ method: "GET", url: "/trace-check" })).json();
  assert.equal(body.langsmith_tracing, false);
  assert.equal(body.langsmith_project, null);
  assert.equal(body.has_langsmith_api_key, false);
  assert.equal(body.langsmith_endpoint, null);
  assert.equal(body.otel_tracing, false);
  assert.equal(typeof body.request_id, "string");
});
