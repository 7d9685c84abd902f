import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { buildTestApp } from "../support/build-test-app.ts";
import { llmCall } from "../support/llm-calls.ts";

/** promtool ships in the Debian package `prometheus`; `.ci/run` installs it. */
function promtoolAvailable(): boolean {
  return spawnSync("promtool", ["--version"], { encoding: "utf8" }).status === 0;
}

test("`promtool check metrics` passes on /metrics after real traffic", async (t) => {
  assert.ok(
    promtoolAvailable(),
    "promtool is not installed: install the Debian package `prometheus` (apt-get install -y prometheus)",
  );
  const { app } = await buildTestApp({
    environment: { LLM_MODEL: "openai:gpt-4o-mini", OPENAI_API_KEY: "sk-test-promtool" },
    jobQueueDepth: async () => ({ queued: 2, running: 1 }),
  });
  t.after(() => app.close());

  for (const url of ["/", "/health", "/ready", "/trace-check", "/no/such/page", "/openapi.json"]) {
    await app.inject({ method: "GET", url });
  }
  await app.inject({ method: "POST", url: "/health", payload: {} });
  const stream = app.llmCallObserver.start(llmCall({ kind: "chat_stream_text", streaming: true }));
  stream.chunk();
  stream.chunk();
  stream.retry("connection_error");
  stream.end({ outcome: "success", inputTokens: 9, outputTokens: 2, output: "hi" });
  app.llmCallObserver
    .start(llmCall({ kind: "openai_chat_completions" }))
    .end({ outcome: "error", errorType: "UPSTREAM_TIMEOUT", output: "" });
  app.metrics.jobFinished("ingest", "completed", 0.4);

  const exposition = (await app.inject({ method: "GET", url: "/metrics" })).body;
  assert.match(exposition, /gen_ai_client_operation_time_per_output_chunk_seconds_bucket/);
  const result = spawnSync("promtool", ["check", "metrics"], { input: exposition, encoding: "utf8" });
  assert.equal(result.status, 0, `promtool found problems:\n${result.stdout}${result.stderr}`);
});
