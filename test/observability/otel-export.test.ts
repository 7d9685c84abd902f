import assert from "node:assert/strict";
import { test } from "node:test";
import { buildTestApp } from "../support/build-test-app.ts";
import { llmCall } from "../support/llm-calls.ts";
import { exportedSpans, spanAttribute } from "../support/otlp-spans.ts";
import { startRecordingServer } from "../support/recording-server.ts";

const INCOMING_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const INCOMING_PARENT_ID = "00f067aa0ba902b7";

test("spans reach an OTLP/HTTP collector: the request's server span continues the incoming traceparent, the model call is a GenAI client span", async (t) => {
  const collector = await startRecordingServer();
  t.after(() => collector.close());
  let upstreamHeaders: Record<string, string> = {};
  const { app } = await buildTestApp({
    environment: {
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      LLM_MODEL: "openai:gpt-4o-mini",
      OPENAI_API_KEY: "sk-test-otel",
    },
    extend: (instance) => {
      // Plays the chat route: one model call, reported to the observer, headers sent upstream.
      instance.post("/test/chat", async (request) => {
        const call = instance.llmCallObserver.start(
          llmCall({
            requestId: request.id,
            parameters: { temperature: 0.2, maxTokens: 64, topK: 20, seed: 7, tools: [{}, {}] },
          }),
        );
        upstreamHeaders = call.upstreamHeaders();
        call.chunk();
        call.end({
          outcome: "success",
          responseModel: "gpt-4o-mini-2024-07-18",
          finishReason: "stop",
          inputTokens: 11,
          outputTokens: 7,
          cachedInputTokens: 4,
          toolCalls: 1,
          output: "Hello!",
        });
        return { reply: "Hello!" };
      });
      instance.post("/test/chat-failing", async (request, reply) => {
        const call = instance.llmCallObserver.start(llmCall({ requestId: request.id, model: "gpt-4o-mini" }));
        call.end({ outcome: "error", errorType: "UPSTREAM_TIMEOUT", output: "" });
        return reply.code(504).send({ error: { code: "UPSTREAM_TIMEOUT" } });
      });
    },
  });

  const response = await app.inject({
    method: "POST",
    url: "/test/chat",
    headers: { traceparent: `00-${INCOMING_TRACE_ID}-${INCOMING_PARENT_ID}-01` },
  });
  assert.equal(response.statusCode, 200);
  await app.inject({ method: "POST", url: "/test/chat-failing" });
  await app.inject({ method: "GET", url: "/metrics" });
  // Closing the app flushes the batch, as a shutdown does.
  await app.close();

  const exports = collector.requests.filter((request) => request.url === "/v1/traces");
  assert.ok(exports.length > 0, "the collector received an export on /v1/traces");
  assert.match(exports[0].headers["content-type"] as string, /application\/json/);
  const spans = exportedSpans(exports.map((request) => request.body));

  const server = spans.find((span) => span.name === "POST /test/chat");
  assert.ok(server, `a server span for the request; got ${spans.map((span) => span.name).join(", ")}`);
  assert.equal(server.kind, 2, "SERVER");
  assert.equal(server.traceId, INCOMING_TRACE_ID, "the incoming trace is continued");
  assert.equal(server.parentSpanId, INCOMING_PARENT_ID);
  assert.equal(spanAttribute(server, "http.route"), "/test/chat");
  assert.equal(spanAttribute(server, "http.response.status_code"), 200);

  const client = spans.find((span) => span.name === "chat gpt-4o-mini" && span.traceId === INCOMING_TRACE_ID);
  assert.ok(client, "a client span per model call, named chat <model>");
  assert.equal(client.kind, 3, "CLIENT");
  assert.equal(client.parentSpanId, server.spanId, "the model call is a child of the request");
  assert.equal(spanAttribute(client, "gen_ai.operation.name"), "chat");
  assert.equal(spanAttribute(client, "gen_ai.provider.name"), "openai");
  assert.equal(spanAttribute(client, "gen_ai.request.model"), "gpt-4o-mini");
  assert.equal(spanAttribute(client, "gen_ai.response.model"), "gpt-4o-mini-2024-07-18");
  assert.equal(spanAttribute(client, "gen_ai.usage.input_tokens"), 11);
  assert.equal(spanAttribute(client, "gen_ai.usage.output_tokens"), 7);
  assert.deepEqual(spanAttribute(client, "gen_ai.response.finish_reasons"), ["stop"]);
  assert.equal(spanAttribute(client, "gen_ai.request.top_k"), 20);
  assert.equal(spanAttribute(client, "gen_ai.request.seed"), 7);
  assert.equal(spanAttribute(client, "llm_api.request.tools"), 2, "how many tools were offered");
  assert.equal(spanAttribute(client, "gen_ai.usage.cache_read.input_tokens"), 4);
  assert.equal(spanAttribute(client, "llm_api.response.tool_calls"), 1);

  // The upstream request carries the model call's span as its parent.
  assert.equal(upstreamHeaders.traceparent, `00-${INCOMING_TRACE_ID}-${client.spanId}-01`);

  const failed = spans.find((span) => span.name === "chat gpt-4o-mini" && span.traceId !== INCOMING_TRACE_ID);
  assert.ok(failed, "the failing call has its own trace");
  assert.equal(spanAttribute(failed, "error.type"), "UPSTREAM_TIMEOUT");

  assert.ok(
    !spans.some((span) => spanAttribute(span, "http.route") === "/metrics"),
    "scrapes are not traced",
  );
});

test("without OTEL_EXPORTER_OTLP_ENDPOINT nothing is traced and no traceparent is sent upstream", async (t) => {
  const { app } = await buildTestApp();
  t.after(() => app.close());
  const call = app.llmCallObserver.start(llmCall());
  assert.deepEqual(call.upstreamHeaders(), {});
  call.end({ outcome: "success", output: "" });
  const check = (await app.inject({ method: "GET", url: "/trace-check" })).json();
  assert.equal(check.otel_tracing, false);
  assert.equal(check.otel_exporter, "none");
  assert.equal(check.trace_id, null);
});

test("an embeddings call is an `embeddings <model>` client span with gen_ai.operation.name=embeddings", async (t) => {
  const collector = await startRecordingServer();
  t.after(() => collector.close());
  const { app } = await buildTestApp({ environment: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url } });
  const response = await app.inject({
    method: "POST",
    url: "/v1/embeddings",
    payload: { model: "echo", input: "one two three" },
  });
  assert.equal(response.statusCode, 200);
  await app.close();

  const spans = exportedSpans(collector.requests.filter((r) => r.url === "/v1/traces").map((r) => r.body));
  const span = spans.find((candidate) => candidate.name === "embeddings echo");
  assert.ok(span, `an embeddings span among ${spans.map((candidate) => candidate.name)}`);
  assert.equal(spanAttribute(span, "gen_ai.operation.name"), "embeddings");
  assert.equal(spanAttribute(span, "gen_ai.provider.name"), "echo");
  assert.equal(spanAttribute(span, "gen_ai.usage.input_tokens"), 3);
  assert.equal(spanAttribute(span, "llm_api.endpoint_kind"), "openai_embeddings");
});
