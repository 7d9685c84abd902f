import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { request as httpRequest } from "node:http";
import { Readable } from "node:stream";
import { test } from "node:test";
import type { App } from "../../src/app.ts";
import { Lifecycle } from "../../src/lifecycle.ts";
import { buildTestApp } from "../support/build-test-app.ts";
import { llmCall } from "../support/llm-calls.ts";
import { sampleValue, seriesKeys } from "../support/prometheus-text.ts";
import { textChunks } from "../support/text-chunks.ts";
import { waitFor } from "../support/wait-for.ts";

// The openai provider is configured (a key) so it can be the default model; nothing here calls it.
const environment = { LLM_MODEL: "openai:gpt-4o-mini", OPENAI_API_KEY: "sk-test-metrics" };

async function scrape(app: App): Promise<string> {
  const response = await app.inject({ method: "GET", url: "/metrics" });
  assert.equal(response.statusCode, 200);
  return response.body;
}

test("GET /metrics speaks the Prometheus text format and includes Node's process metrics", async (t) => {
  const { app } = await buildTestApp({ environment });
  t.after(() => app.close());
  const response = await app.inject({ method: "GET", url: "/metrics" });
  assert.match(response.headers["content-type"] as string, /^text\/plain; version=0\.0\.4/);
  assert.match(response.body, /^# HELP process_cpu_user_seconds_total /m);
  assert.match(response.body, /^nodejs_eventloop_lag_seconds /m);
  assert.match(response.body, /^# TYPE gen_ai_client_operation_duration_seconds histogram$/m);
});

test("requests are counted by method, route template and status; /metrics not in itself", async (t) => {
  const { app } = await buildTestApp({
    environment,
  });
  t.after(() => app.close());
  await app.inject({ method: "GET", url: "/health" });
  await app.inject({ method: "GET", url: "/health" });
  await app.inject({ method: "GET", url: "/status/abc" });
  await app.inject({ method: "GET", url: "/no/such/route" });
  await scrape(app);
  const text = await scrape(app);

  assert.equal(
    sampleValue(text, "http_requests_total", { method: "GET", path: "/health", status: "200" }),
    2,
  );
  // The real job status route: an unknown id is a 404, still labelled with the route template.
  assert.equal(sampleValue(text, "http_requests_total", { path: "/status/:job_id", status: "404" }), 1);
  assert.equal(sampleValue(text, "http_requests_total", { path: "unmatched", status: "404" }), 1);
  assert.equal(sampleValue(text, "http_request_duration_seconds_count", { path: "/health" }), 2);
  assert.ok(sampleValue(text, "http_request_duration_seconds_sum", { path: "/health" }) > 0);
  assert.equal(sampleValue(text, "http_requests_total", { path: "/metrics" }), 0, "scrapes are not counted");
});

test("1,000 random unmatched URLs and random job ids add no series", async (t) => {
  const { app } = await buildTestApp({
    environment,
  });
  t.after(() => app.close());
  await app.inject({ method: "GET", url: "/warm-up-unmatched" });
  await app.inject({ method: "GET", url: "/status/warm-up" });
  const prefixes = ["http_", "llm_api_"];
  const before = seriesKeys(await scrape(app), prefixes);

  for (let index = 0; index < 1000; index++) {
    await app.inject({ method: "GET", url: `/${randomUUID()}/${index}?q=${randomUUID()}` });
    await app.inject({ method: "GET", url: `/status/${randomUUID()}` });
  }
  const text = await scrape(app);
  assert.deepEqual(seriesKeys(text, prefixes), before);
  assert.equal(sampleValue(text, "http_requests_total", { path: "unmatched" }), 1001);
  assert.equal(sampleValue(text, "http_requests_total", { path: "/status/:job_id" }), 1001);
});

test("model calls move the GenAI metrics; unknown providers and models share one 'other' value", async (t) => {
  const { app } = await buildTestApp({ environment });
  t.after(() => app.close());
  const observer = app.llmCallObserver;

  const json = observer.start(llmCall());
  json.chunk();
  json.end({ outcome: "success", inputTokens: 12, outputTokens: 30, finishReason: "stop", output: "hello" });

  const stream = observer.start(llmCall({ kind: "chat_stream_sse", streaming: true }));
  let text = await scrape(app);
  assert.equal(sampleValue(text, "llm_api_active_streams"), 1, "a streaming call is an active stream");
  for (let index = 0; index < 5; index++) stream.chunk();
  stream.end({ outcome: "success", inputTokens: 10, outputTokens: 5, output: "abcde" });

  observer
    .start(llmCall({ provider: "mystery", model: `fine-tune-${randomUUID()}` }))
    .end({ outcome: "success", output: "" });

  text = await scrape(app);
  const labels = {
    gen_ai_operation_name: "chat",
    gen_ai_provider_name: "openai",
    gen_ai_request_model: "gpt-4o-mini",
  };
  assert.equal(sampleValue(text, "llm_api_active_streams"), 0);
  assert.equal(sampleValue(text, "gen_ai_client_operation_duration_seconds_count", labels), 2);
  assert.equal(
    sampleValue(text, "gen_ai_client_token_usage_sum", { ...labels, gen_ai_token_type: "input" }),
    22,
  );
  assert.equal(
    sampleValue(text, "gen_ai_client_token_usage_sum", { ...labels, gen_ai_token_type: "output" }),
    35,
  );
  // Time to first chunk and time per output chunk are for streams only: 1 first chunk, 4 after it.
  assert.equal(sampleValue(text, "gen_ai_client_operation_time_to_first_chunk_seconds_count", labels), 1);
  assert.equal(sampleValue(text, "gen_ai_client_operation_time_per_output_chunk_seconds_count", labels), 4);
  assert.equal(
    sampleValue(text, "gen_ai_client_operation_time_per_output_chunk_seconds_bucket", {
      ...labels,
      le: "+Inf",
    }),
    4,
  );
  assert.equal(
    sampleValue(text, "gen_ai_client_operation_duration_seconds_count", {
      gen_ai_provider_name: "other",
      gen_ai_request_model: "other",
    }),
    1,
  );
  assert.doesNotMatch(text, /fine-tune-|mystery/);
  assert.match(
    text,
    /^gen_ai_client_token_usage_bucket\{le="67108864",gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-4o-mini",gen_ai_token_type="input"\} 2$/m,
    "the GenAI conventions' token buckets",
  );
  assert.match(text, /^gen_ai_client_operation_duration_seconds_bucket\{le="81.92",/m);
  assert.match(text, /^gen_ai_client_operation_time_per_output_chunk_seconds_bucket\{le="2.5",/m);
});

test("an upstream failure after retries moves the error, retry and duration-by-error_type metrics", async (t) => {
  const { app } = await buildTestApp({
    environment,
    extend: (instance) => {
      // What a chat route does when the provider keeps failing: retry, give up, answer 502.
      instance.post("/test/failing-chat", async (request, reply) => {
        const call = instance.llmCallObserver.start(llmCall({ requestId: request.id }));
        call.retry("server_error");
        call.retry("rate_limited");
        call.end({ outcome: "error", errorType: "UPSTREAM_ERROR", output: "" });
        return reply.code(502).send({ error: { code: "UPSTREAM_ERROR" } });
      });
    },
  });
  t.after(() => app.close());
  const response = await app.inject({ method: "POST", url: "/test/failing-chat" });
  assert.equal(response.statusCode, 502);

  const text = await scrape(app);
  assert.equal(
    sampleValue(text, "llm_api_upstream_errors_total", {
      gen_ai_provider_name: "openai",
      error_type: "UPSTREAM_ERROR",
    }),
    1,
  );
  assert.equal(sampleValue(text, "llm_api_upstream_retries_total", { reason: "server_error" }), 1);
  assert.equal(sampleValue(text, "llm_api_upstream_retries_total", { reason: "rate_limited" }), 1);
  assert.equal(
    sampleValue(text, "gen_ai_client_operation_duration_seconds_count", { error_type: "UPSTREAM_ERROR" }),
    1,
  );
  assert.equal(sampleValue(text, "http_requests_total", { path: "/test/failing-chat", status: "502" }), 1);
  // The request made a model call, so the service's own share of its time is measured.
  assert.equal(sampleValue(text, "llm_api_overhead_seconds_count", { path: "/test/failing-chat" }), 1);
});

test("a client that disconnects mid-stream is counted, as status 499 and as a disconnect", async (t) => {
  const { app } = await buildTestApp({
    environment,
    extend: (instance) => {
      // A stand-in for the SSE route: streams until the client leaves, reporting to the observer.
      instance.get("/test/endless-stream", (request, reply) => {
        const call = instance.llmCallObserver.start(
          llmCall({ requestId: request.id, kind: "chat_stream_sse", streaming: true }),
        );
        const body = new Readable({ read() {} });
        const timer = setInterval(() => {
          call.chunk();
          body.push("data: chunk\n\n");
        }, 10);
        reply.raw.on("close", () => {
          clearInterval(timer);
          if (!reply.raw.writableEnded) call.end({ outcome: "client_disconnected", output: "partial" });
        });
        return reply.type("text/event-stream").send(body);
      });
    },
  });
  t.after(() => app.close());
  const address = await app.listen({ port: 0, host: "127.0.0.1" });

  await new Promise<void>((resolve, reject) => {
    const request = httpRequest(`${address}/test/endless-stream`, (response) => {
      response.once("data", () => {
        request.destroy();
        resolve();
      });
    });
    request.on("error", (error) => (error.message === "socket hang up" ? resolve() : reject(error)));
    request.end();
  });

  const text = await waitFor("the disconnect to be counted", async () => {
    const scraped = await scrape(app);
    return sampleValue(scraped, "llm_api_client_disconnects_total") > 0 ? scraped : undefined;
  });
  assert.equal(sampleValue(text, "llm_api_client_disconnects_total", { path: "/test/endless-stream" }), 1);
  assert.equal(sampleValue(text, "http_requests_total", { path: "/test/endless-stream", status: "499" }), 1);
  assert.equal(sampleValue(text, "llm_api_active_streams"), 0, "the stream is no longer active");
  assert.equal(
    sampleValue(text, "gen_ai_client_operation_duration_seconds_count", {
      error_type: "client_disconnected",
    }),
    1,
  );
  assert.equal(sampleValue(text, "gen_ai_client_operation_time_to_first_chunk_seconds_count"), 1);
});

test("requests refused with 503 while draining are counted as rejected, with the reason", async (t) => {
  const lifecycle = new Lifecycle();
  const { app } = await buildTestApp({ environment, lifecycle });
  t.after(() => app.close());
  lifecycle.startDraining();
  assert.equal((await app.inject({ method: "GET", url: "/" })).statusCode, 503);
  // GET /metrics itself is refused while draining, so read the registry directly.
  const text = await app.metrics.exposition();
  assert.equal(
    sampleValue(text, "llm_api_rejected_requests_total", { status: "503", reason: "shutting_down" }),
    1,
  );
});

test("jobs: finished jobs by type and state, their duration, and the queue depth read at scrape time", async (t) => {
  let queued = 3;
  const { app } = await buildTestApp({
    environment,
    jobQueueDepth: async () => ({ queued, running: 1, completed: 7 }),
  });
  t.after(() => app.close());
  app.metrics.jobFinished("ingest", "completed", 1.5);
  app.metrics.jobFinished("ingest", "failed", 0.2);
  app.metrics.jobFinished("ingest", `weird-${randomUUID()}`, 0.1);

  let text = await scrape(app);
  assert.equal(sampleValue(text, "llm_api_jobs_total", { type: "ingest", state: "completed" }), 1);
  assert.equal(sampleValue(text, "llm_api_jobs_total", { type: "ingest", state: "failed" }), 1);
  assert.equal(sampleValue(text, "llm_api_jobs_total", { type: "ingest", state: "other" }), 1);
  assert.equal(sampleValue(text, "llm_api_job_duration_seconds_sum", { state: "completed" }), 1.5);
  assert.equal(sampleValue(text, "llm_api_job_queue_depth", { state: "queued" }), 3);
  assert.equal(sampleValue(text, "llm_api_job_queue_depth", { state: "failed" }), 0);

  queued = 0;
  text = await scrape(app);
  assert.equal(sampleValue(text, "llm_api_job_queue_depth", { state: "queued" }), 0);
});

test("a queue that fails to answer does not fail the scrape", async (t) => {
  const { app } = await buildTestApp({
    environment,
    jobQueueDepth: async () => {
      throw new Error("database is locked");
    },
  });
  t.after(() => app.close());
  const response = await app.inject({ method: "GET", url: "/metrics" });
  assert.equal(response.statusCode, 200);
});

test("the event loop's delay p99 and max cover the window since the previous scrape", async (t) => {
  const { app } = await buildTestApp({ environment });
  t.after(() => app.close());
  const exposition = await scrape(app);
  assert.match(
    exposition,
    /^# HELP llm_api_event_loop_delay_p99_seconds 99th percentile of the event loop's delay/m,
  );
  assert.match(exposition, /^# TYPE llm_api_event_loop_delay_p99_seconds gauge$/m);

  // A 150 ms stall among a few 10 ms samples is the window's worst and its p99.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const stallUntil = performance.now() + 150;
  while (performance.now() < stallUntil) {}
  await new Promise((resolve) => setTimeout(resolve, 30));
  const stalled = await scrape(app);
  assert.ok(sampleValue(stalled, "llm_api_event_loop_delay_max_seconds") >= 0.1, stalled);
  assert.ok(sampleValue(stalled, "llm_api_event_loop_delay_p99_seconds") >= 0.1);

  // The next window starts after that scrape: the stall is no longer in it.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const calm = await scrape(app);
  assert.ok(sampleValue(calm, "llm_api_event_loop_delay_p99_seconds") < 0.1);
});

test("the knowledge store's size and its cap are gauges", async (t) => {
  const { app } = await buildTestApp({ environment: { ...environment, KNOWLEDGE_MAX_BYTES: "5000000" } });
  t.after(() => app.close());
  await app.knowledgeStore.beginDocument({
    id: "doc_size",
    collection: "default",
    source: "size.txt",
    contentType: "text/plain",
    bytes: 10,
    characters: 10,
    jobId: "size",
  });
  await app.knowledgeStore.appendChunks("doc_size", 0, textChunks(["héllo", "world"]));
  const exposition = await scrape(app);
  assert.equal(sampleValue(exposition, "llm_api_knowledge_store_max_bytes"), 5_000_000);
  assert.equal(sampleValue(exposition, "llm_api_knowledge_store_bytes"), 11);
});
