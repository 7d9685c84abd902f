import assert from "node:assert/strict";
import { test } from "node:test";
import { ServiceError } from "../../src/errors/service-error.ts";
import { startChatTestApp } from "../support/chat-test-app.ts";
import { readStreamToEnd } from "../support/read-stream-to-end.ts";
import { readStreamUntil } from "../support/read-stream-until.ts";
import { parseSse } from "../support/sse-parser.ts";
import { waitForNoActiveStreams } from "../support/wait-for-no-active-streams.ts";

const MESSAGES = [{ role: "user", content: "hi" }];

/** Every stream kind, and how its end after an interruption reads. */
const STREAMS = [
  {
    name: "seed SSE",
    path: "/chat/stream",
    body: { message: "hi" },
    ending: (text: string) => {
      const { events } = parseSse(text);
      assert.deepEqual(
        events.slice(-2).map((event) => [event.event, event.data]),
        [
          ["error", "SHUTTING_DOWN: The service is shutting down; retry elsewhere."],
          ["message", "[DONE]"],
        ],
      );
    },
  },
  {
    name: "seed text",
    path: "/chat/stream-text",
    body: { message: "hi" },
    ending: (text: string) => {
      assert.ok(
        text.endsWith("\n[ERROR] SHUTTING_DOWN: The service is shutting down; retry elsewhere.\n"),
        text.slice(-120),
      );
    },
  },
  ...[
    ["OpenAI chunks, relayed", "openai:fake-model"],
    ["OpenAI chunks, from the AI SDK", "anthropic:claude-fake"],
  ].map(([name, model]) => ({
    name,
    path: "/v1/chat/completions",
    body: { model, stream: true, messages: MESSAGES },
    ending: (text: string) => {
      const { events } = parseSse(text);
      assert.equal(events.at(-1)?.data, "[DONE]");
      const error = JSON.parse(events.at(-2)?.data ?? "{}").error;
      assert.equal(error?.code, "shutting_down");
      assert.equal(error?.type, "api_error");
    },
  })),
];

for (const stream of STREAMS) {
  test(`${stream.name}: a stream interrupted at shutdown ends with its error frame and stops the upstream`, {
    timeout: 10_000,
  }, async (t) => {
    const { address, upstream, app } = await startChatTestApp(t);
    upstream.script({
      deltas: Array.from({ length: 200 }, (_, index) => `token${index} `),
      chunkDelayMs: 20,
    });
    const response = await fetch(`${address}${stream.path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(stream.body),
    });
    assert.equal(response.status, 200);
    const reader = response.body!.getReader();
    let text = await readStreamUntil(reader, "token1");

    const interrupted = app.streamSlots.interruptAll(
      new ServiceError({ code: "SHUTTING_DOWN", message: "The service is shutting down; retry elsewhere." }),
    );
    assert.equal(interrupted, 1);
    text += await readStreamToEnd(reader);
    stream.ending(text);
    assert.ok(!text.includes("token199"), "the stream was cut, not finished");
    await upstream.waitForAbort(0, 1000);
    await waitForNoActiveStreams(app);
  });
}

test("a stream that ends normally is no longer interruptible", async (t) => {
  const { post, upstream, app } = await startChatTestApp(t);
  upstream.script({ deltas: ["done"] });
  const response = await post("/chat/stream", { message: "hi" });
  assert.match(await response.text(), /data: done\n\n/);
  await waitForNoActiveStreams(app);
  assert.equal(app.streamSlots.interruptAll(new ServiceError({ code: "SHUTTING_DOWN", message: "x" })), 0);
});
