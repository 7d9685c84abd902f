// Real chat traffic through the real app: the observability that issue 4 built from the observer
// interface must move when the chat routes (issue 3) serve requests, not just when driven by hand.
import assert from "node:assert/strict";
import { test } from "node:test";
import { startChatTestApp } from "../support/chat-test-app.ts";
import { exportedSpans } from "../support/otlp-spans.ts";
import { sampleValue } from "../support/prometheus-text.ts";
import { startRecordingServer } from "../support/recording-server.ts";
import { parseSse } from "../support/sse-parser.ts";
import { waitFor } from "../support/wait-for.ts";

const INCOMING_TRACE_ID = "0af7651916cd43dd8448eb211c80319c";
const TRACEPARENT = `00-${INCOMING_TRACE_ID}-b7ad6b7169203331-01`;

test("chat traffic moves the GenAI and service metrics and logs one line per model call", async (t) => {
  const { app, post, address, logs, upstream } = await startChatTestApp(t);
  upstream.script({ deltas: ["one", " two", " three"] });

  const json = await post("/chat", { message: "hello" });
  assert.equal(json.status, 200);
  const stream = await post("/chat/stream", { message: "hello" });
  const events = parseSse(await stream.text()).events;
  assert.equal(events.at(-1)?.data, "[DONE]");

  const metrics = await (await fetch(`${address}/metrics`)).text();
  const labels = { gen_ai_provider_name: "openai", gen_ai_request_model: "fake-model" };
  assert.equal(sampleValue(metrics, "gen_ai_client_operation_duration_seconds_count", labels), 2);
  assert.equal(
    sampleValue(metrics, "gen_ai_client_operation_time_to_first_chunk_seconds_count", labels),
    1,
    "time to first chunk is for streams only",
  );
  assert.ok(
    sampleValue(metrics, "gen_ai_client_token_usage_sum", { ...labels, gen_ai_token_type: "output" }) > 0,
  );
  assert.equal(sampleValue(metrics, "llm_api_active_streams"), 0, "the stream's slot was given back");
  assert.equal(sampleValue(metrics, "llm_api_overhead_seconds_count", { path: "/chat/stream" }), 1);
  assert.equal(sampleValue(metrics, "http_requests_total", { path: "/chat", status: "200" }), 1);

  await waitFor(
    "two model call log lines",
    () => logs.lines().filter((line) => line.msg === "model call completed").length === 2,
    { timeoutMs: 2000 },
  );
  const calls = logs.lines().filter((line) => line.msg === "model call completed");
  assert.deepEqual(calls.map((line) => line.outcome).sort(), ["success", "success"]);
  assert.ok(calls.every((line) => line.provider === "openai" && typeof line.request_id === "string"));
  await app.close();
});

test("a traced chat request continues the caller's trace into the span and the upstream request", async (t) => {
  const collector = await startRecordingServer();
  t.after(() => collector.close());
  const { app, post, upstream } = await startChatTestApp(t, {
    environment: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url },
  });
  const response = await post(
    "/v1/chat/completions",
    {
      model: "fake-model",
      messages: [{ role: "user", content: "hi" }],
    },
    { headers: { "content-type": "application/json", traceparent: TRACEPARENT } },
  );
  assert.equal(response.status, 200);

  const upstreamTraceparent = String(upstream.requests[0].headers.traceparent);
  assert.match(upstreamTraceparent, new RegExp(`^00-${INCOMING_TRACE_ID}-[0-9a-f]{16}-01$`));

  await app.close(); // flushes the exporter
  await collector.waitFor(
    (requests) => requests.some((request) => request.body.includes("chat fake-model")),
    5000,
  );
  const spans = exportedSpans(collector.requests.map((request) => request.body));
  const modelSpan = spans.find((span) => span.name === "chat fake-model");
  assert.ok(modelSpan, "the model call has its client span");
  assert.equal(modelSpan.traceId, INCOMING_TRACE_ID);
  assert.ok(
    spans.some((span) => span.name === "POST /v1/chat/completions" && span.traceId === INCOMING_TRACE_ID),
  );
});
