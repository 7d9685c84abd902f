import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import { test } from "node:test";
import { buildTestApp } from "../support/build-test-app.ts";
import { llmCall } from "../support/llm-calls.ts";
import { waitFor } from "../support/wait-for.ts";

test("one log line per model call: request id, provider, model, tokens, time to first token, duration, outcome", async (t) => {
  const { app, logs } = await buildTestApp();
  t.after(() => app.close());
  const call = app.llmCallObserver.start(
    llmCall({ requestId: "req-log", kind: "chat_stream_sse", streaming: true }),
  );
  // Time must pass before the first chunk for the line to show it; 5 ms by the observer's clock.
  const startedAt = performance.now();
  await waitFor("5 ms to pass", () => performance.now() - startedAt >= 5, { intervalMs: 1 });
  call.chunk();
  call.chunk();
  call.end({
    outcome: "success",
    inputTokens: 4,
    outputTokens: 2,
    finishReason: "stop",
    output: "secret prompt echo",
  });

  const lines = logs.lines().filter((line) => line.msg === "model call completed");
  assert.equal(lines.length, 1);
  const [line] = lines;
  assert.equal(line.request_id, "req-log");
  assert.equal(line.provider, "openai");
  assert.equal(line.model, "gpt-4o-mini");
  assert.equal(line.input_tokens, 4);
  assert.equal(line.output_tokens, 2);
  assert.equal(line.outcome, "success");
  assert.ok((line.time_to_first_token_ms as number) >= 4);
  assert.ok((line.duration_ms as number) >= (line.time_to_first_token_ms as number));
  assert.ok(!logs.text().includes("secret prompt echo"), "the output is not logged");
  assert.ok(!logs.text().includes("Say hello"), "the messages are not logged");
});
