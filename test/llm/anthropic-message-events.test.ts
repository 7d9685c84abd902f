import assert from "node:assert/strict";
import { test } from "node:test";
import { AnthropicMessageEvents } from "../../src/llm/anthropic-message-events.ts";
import { UpstreamStreamError } from "../../src/llm/upstream-stream-error.ts";

const event = (name: string, data: object) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
const messageStart = event("message_start", {
  type: "message_start",
  message: { id: "msg_1", model: "claude-test", usage: { input_tokens: 3, output_tokens: 1 } },
});
const blockStart = event("content_block_start", {
  type: "content_block_start",
  index: 0,
  content_block: { type: "text", text: "" },
});
const textDelta = (text: string) =>
  event("content_block_delta", {
    type: "content_block_delta",
    index: 0,
    delta: { type: "text_delta", text },
  });
const messageDelta = event("message_delta", {
  type: "message_delta",
  delta: { stop_reason: "max_tokens" },
  usage: { output_tokens: 2 },
});
const messageStop = event("message_stop", { type: "message_stop" });

test("events split anywhere, CRLF line ends and comments: every event comes out as sent, text read", () => {
  const events = `${messageStart}${blockStart}${textDelta("héllo")}${textDelta(" wörld")}${messageDelta}${messageStop}`;
  const upstream = `: keep-alive\n\n${events}`;
  for (const lineEnd of ["\n", "\r\n"]) {
    const text = upstream.replaceAll("\n", lineEnd);
    for (let cut = 1; cut < text.length; cut += 7) {
      const reader = new AnthropicMessageEvents();
      const deltas: string[] = [];
      const relayed =
        reader.push(text.slice(0, cut), (delta) => deltas.push(delta)) +
        reader.push(text.slice(cut), (delta) => deltas.push(delta));
      assert.equal(relayed, events, `cut at ${cut}`);
      assert.deepEqual(deltas, ["héllo", " wörld"]);
      assert.equal(reader.text, "héllo wörld");
      assert.equal(reader.responseModel, "claude-test");
      assert.equal(reader.finishReason, "length");
      assert.deepEqual(reader.usage, { inputTokens: 3, outputTokens: 2, totalTokens: 5 });
      assert.equal(reader.complete, true);
    }
  }
});

test("the reply starts with the first delta or tool_use block, not with message_start", () => {
  const toolUse = event("content_block_start", {
    type: "content_block_start",
    index: 0,
    content_block: { type: "tool_use", id: "toolu_1", name: "weather", input: {} },
  });
  for (const first of [textDelta("a"), toolUse]) {
    const reader = new AnthropicMessageEvents();
    reader.push(messageStart + blockStart, () => {});
    assert.equal(reader.replyStarted, false, "message_start and a text block's start alone start nothing");
    reader.push(first, () => {});
    assert.equal(reader.replyStarted, true, first);
  }
});

test("only message_stop completes the reply; a stop reason alone does not", () => {
  const reader = new AnthropicMessageEvents();
  reader.push(messageStart + blockStart + textDelta("a") + messageDelta, () => {});
  assert.equal(reader.finishReason, "length");
  assert.equal(reader.complete, false);
  reader.push(messageStop, () => {});
  assert.equal(reader.complete, true);
});

test("an error event or a payload that is not JSON is thrown, not relayed", () => {
  assert.throws(
    () =>
      new AnthropicMessageEvents().push(
        event("error", { type: "error", error: { type: "overloaded_error", message: "x" } }),
        () => {},
      ),
    UpstreamStreamError,
  );
  assert.throws(
    () => new AnthropicMessageEvents().push("event: ping\ndata: {nope\n\n", () => {}),
    SyntaxError,
  );
});
