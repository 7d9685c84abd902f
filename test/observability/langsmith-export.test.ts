import assert from "node:assert/strict";
import { test } from "node:test";
import type { LlmCallKind } from "../../src/llm/llm-call-observer.ts";
import { buildTestApp } from "../support/build-test-app.ts";
import { llmCall } from "../support/llm-calls.ts";
import { type RecordedRequest, startRecordingServer } from "../support/recording-server.ts";

type PostedRun = {
  id: string;
  name: string;
  run_type: string;
  session_name?: string;
  inputs: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  error?: string;
  extra?: { metadata?: Record<string, unknown> };
  tags?: string[];
};

/** Plays LangSmith: answers /info so the SDK uses the JSON batch endpoint, and accepts runs. */
function langsmithAnswer(request: RecordedRequest) {
  if (request.url === "/info")
    return { body: { version: "test", batch_ingest_config: { use_multipart_endpoint: false } } };
  return { body: {} };
}

/** Runs created, by id, with later updates for the same id merged in. */
function receivedRuns(requests: RecordedRequest[]): PostedRun[] {
  const runs = new Map<string, PostedRun>();
  for (const request of requests) {
    if (request.method !== "POST" && request.method !== "PATCH") continue;
    if (!request.url.startsWith("/runs")) continue;
    const body = JSON.parse(request.body) as { post?: PostedRun[]; patch?: PostedRun[] } & PostedRun;
    const items = request.url === "/runs/batch" ? [...(body.post ?? []), ...(body.patch ?? [])] : [body];
    for (const item of items) runs.set(item.id, { ...runs.get(item.id), ...item } as PostedRun);
  }
  return [...runs.values()];
}

test("LangSmith receives a run per model call with its name, tags, metadata, inputs, output and usage", async (t) => {
  const langsmith = await startRecordingServer(langsmithAnswer);
  t.after(() => langsmith.close());
  const { app } = await buildTestApp({
    environment: {
      LANGSMITH_TRACING: "true",
      LANGSMITH_API_KEY: "lsv2-test-key-123456",
      LANGSMITH_PROJECT: "observability-tests",
      LANGSMITH_ENDPOINT: langsmith.url,
      NODE_ENV: "staging",
    },
  });

  const kinds: { kind: LlmCallKind; path: string }[] = [
    { kind: "chat", path: "/chat" },
    { kind: "chat_stream_sse", path: "/chat/stream" },
    { kind: "chat_stream_text", path: "/chat/stream-text" },
    { kind: "openai_chat_completions", path: "/v1/chat/completions" },
  ];
  for (const { kind, path } of kinds) {
    const call = app.llmCallObserver.start(
      llmCall({ requestId: `req-${kind}`, kind, path, streaming: kind !== "chat" }),
    );
    call.chunk();
    call.end({
      outcome: "success",
      inputTokens: 5,
      outputTokens: 3,
      finishReason: "stop",
      output: `out ${kind}`,
    });
  }
  app.llmCallObserver
    .start(llmCall({ requestId: "req-failing" }))
    .end({ outcome: "error", errorType: "UPSTREAM_RATE_LIMITED", output: "" });
  // Closing the app flushes the queued runs, as a shutdown does.
  await app.close();

  const runs = receivedRuns(langsmith.requests);
  assert.equal(
    runs.length,
    5,
    `five runs; requests were ${langsmith.requests.map((r) => `${r.method} ${r.url}`)}`,
  );
  for (const { kind, path } of kinds) {
    const run = runs.find((candidate) => candidate.extra?.metadata?.request_id === `req-${kind}`);
    assert.ok(run, `a run for ${kind}`);
    assert.equal(run.name, kind);
    assert.equal(run.run_type, "llm");
    assert.equal(run.session_name, "observability-tests");
    assert.deepEqual(run.tags?.toSorted(), ["llm-api-service", "staging", kind].toSorted());
    assert.equal(run.extra?.metadata?.path, path);
    assert.equal(run.extra?.metadata?.method, "POST");
    assert.deepEqual(run.inputs.messages, [{ role: "user", content: "Say hello" }]);
    assert.equal(run.outputs?.output, `out ${kind}`);
    assert.deepEqual(run.outputs?.usage_metadata, { input_tokens: 5, output_tokens: 3, total_tokens: 8 });
  }
  const failing = runs.find((run) => run.extra?.metadata?.request_id === "req-failing");
  assert.equal(failing?.error, "UPSTREAM_RATE_LIMITED");

  const sent = langsmith.requests.find((request) => request.url.startsWith("/runs"));
  assert.equal(sent?.headers["x-api-key"], "lsv2-test-key-123456", "runs are sent with the configured key");
});

test("LANGSMITH_TRACING=true without a key sends nothing and says so on /trace-check", async (t) => {
  const langsmith = await startRecordingServer(langsmithAnswer);
  t.after(() => langsmith.close());
  const { app } = await buildTestApp({
    environment: { LANGSMITH_TRACING: "true", LANGSMITH_ENDPOINT: langsmith.url },
  });
  app.llmCallObserver.start(llmCall()).end({ outcome: "success", output: "" });
  const check = (await app.inject({ method: "GET", url: "/trace-check" })).json();
  await app.close();
  assert.equal(check.langsmith_tracing, false);
  assert.equal(check.has_langsmith_api_key, false);
  assert.equal(langsmith.requests.length, 0);
});

test("an embeddings call is a LangSmith embedding run over its texts, with its input tokens", async (t) => {
  const langsmith = await startRecordingServer(langsmithAnswer);
  t.after(() => langsmith.close());
  const { app } = await buildTestApp({
    environment: {
      LANGSMITH_TRACING: "true",
      LANGSMITH_API_KEY: "lsv2-test-key-123456",
      LANGSMITH_ENDPOINT: langsmith.url,
    },
  });
  const response = await app.inject({
    method: "POST",
    url: "/v1/embeddings",
    payload: { model: "echo", input: ["one two", "three"] },
  });
  assert.equal(response.statusCode, 200);
  await app.close();

  const [run] = receivedRuns(langsmith.requests);
  assert.equal(run?.name, "openai_embeddings");
  assert.equal(run.run_type, "embedding");
  assert.deepEqual(run.inputs.input, ["one two", "three"]);
  assert.equal(run.extra?.metadata?.path, "/v1/embeddings");
  assert.deepEqual(run.outputs?.usage_metadata, { input_tokens: 3, output_tokens: 0, total_tokens: 3 });
});
