import assert from "node:assert/strict";
import { test } from "node:test";
import { anthropicEventProtocol } from "../../../src/chat/protocols/anthropic-event-protocol.ts";
import type { ReplyContext } from "../../../src/chat/reply-protocol.ts";
import { ServiceError } from "../../../src/errors/service-error.ts";
import { parseSse } from "../../support/sse-parser.ts";

// The framing alone, for what no provider reached through the AI SDK here streams (thinking) and
// for switching between blocks; the routes' tests check whole replies over HTTP.
const context = {
  requestId: "req-1",
  model: { name: "ollama:qwen3", provider: "ollama", modelId: "qwen3" },
  sources: undefined,
} as unknown as ReplyContext;

function events(frames: string) {
  return parseSse(frames).events.map((event) => {
    const data = JSON.parse(event.data);
    assert.equal(event.event, data.type, "each event's name is its type");
    return data;
  });
}

test("thinking, then text, then a tool call: each its own block, closed when the next starts", () => {
  const protocol = anthropicEventProtocol(context, { requestedModel: undefined });
  const frames =
    protocol.start() +
    protocol.reasoning!("Let me ") +
    protocol.reasoning!("think.") +
    protocol.text("Answer") +
    protocol.toolCall!({ index: 0, id: "call_1", name: "weather", argumentsDelta: "" }) +
    protocol.toolCall!({ index: 0, argumentsDelta: '{"city":' }) +
    protocol.toolCall!({ index: 0, argumentsDelta: '"Lisbon"}' }) +
    protocol.finish(
      {
        finishReason: "tool_calls",
        usage: { inputTokens: 10, outputTokens: 4, totalTokens: 14, cachedInputTokens: 6 },
        responseModel: undefined,
      },
      { passthrough: false },
    );
  assert.deepEqual(events(frames).slice(1), [
    {
      type: "content_block_start",
      index: 0,
      content_block: { type: "thinking", thinking: "", signature: "" },
    },
    { type: "content_block_delta", index: 0, delta: { type: "thinking_delta", thinking: "Let me " } },
    { type: "content_block_delta", index: 0, delta: { type: "thinking_delta", thinking: "think." } },
    { type: "content_block_stop", index: 0 },
    { type: "content_block_start", index: 1, content_block: { type: "text", text: "" } },
    { type: "content_block_delta", index: 1, delta: { type: "text_delta", text: "Answer" } },
    { type: "content_block_stop", index: 1 },
    {
      type: "content_block_start",
      index: 2,
      content_block: { type: "tool_use", id: "call_1", name: "weather", input: {} },
    },
    { type: "content_block_delta", index: 2, delta: { type: "input_json_delta", partial_json: '{"city":' } },
    { type: "content_block_delta", index: 2, delta: { type: "input_json_delta", partial_json: '"Lisbon"}' } },
    { type: "content_block_stop", index: 2 },
    {
      type: "message_delta",
      delta: { stop_reason: "tool_use", stop_sequence: null },
      // Anthropic's input_tokens leave the cache reads out.
      usage: {
        input_tokens: 4,
        output_tokens: 4,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 6,
      },
    },
    { type: "message_stop" },
  ]);
});

test("a failure once started is an error event in Anthropic's shape; pings are Anthropic's ping event", () => {
  const protocol = anthropicEventProtocol(context, { requestedModel: "qwen" });
  const started = events(protocol.start() + protocol.text("a"));
  assert.equal(started[0].message.model, "qwen");
  const error = new ServiceError({
    code: "UPSTREAM_TIMEOUT",
    message: "The model provider sent nothing for 5 ms.",
  });
  assert.deepEqual(events(protocol.error(error)), [
    {
      type: "error",
      error: { type: "timeout_error", message: "The model provider sent nothing for 5 ms." },
      request_id: "req-1",
    },
  ]);
  assert.deepEqual(events(protocol.ping!), [{ type: "ping" }]);
  assert.equal(
    protocol.finish(
      { finishReason: "stop", usage: undefined, responseModel: undefined },
      { passthrough: true },
    ),
    "",
  );
});
