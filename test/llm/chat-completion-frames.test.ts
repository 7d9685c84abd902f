import assert from "node:assert/strict";
import { test } from "node:test";
import { ChatCompletionFrames } from "../../src/llm/chat-completion-frames.ts";
import { UpstreamStreamError } from "../../src/llm/upstream-stream-error.ts";

const chunk = (content: string) =>
  `data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":${JSON.stringify(content)}},"finish_reason":null}]}\n\n`;
const finish = 'data: {"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"length"}]}\n\n';
const usage =
  'data: {"id":"c","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}\n\n';

test("frames split anywhere, CRLF line ends and comments: the same frames and text come out", () => {
  const upstream = `: keep-alive\n\n${chunk("héllo")}${chunk(" wörld")}${finish}${usage}data: [DONE]\n\n`;
  const expected = `${chunk("héllo")}${chunk(" wörld")}${finish}`;
  for (const lineEnd of ["\n", "\r\n"]) {
    const text = upstream.replaceAll("\n", lineEnd);
    for (let cut = 1; cut < text.length; cut += 7) {
      const frames = new ChatCompletionFrames({ includeUsage: false });
      const deltas: string[] = [];
      const relayed =
        frames.push(text.slice(0, cut), (delta) => deltas.push(delta)) +
        frames.push(text.slice(cut), (delta) => deltas.push(delta));
      assert.equal(relayed, expected, `cut at ${cut}`);
      assert.deepEqual(deltas, ["héllo", " wörld"]);
      assert.equal(frames.finishReason, "length");
      assert.deepEqual(frames.usage, { inputTokens: 3, outputTokens: 2, totalTokens: 5 });
      assert.equal(frames.done, true);
    }
  }
});

test("usage on a content frame is removed from it, not the frame dropped, when not asked for", () => {
  const frames = new ChatCompletionFrames({ includeUsage: false });
  const relayed = frames.push(
    'data: {"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1}}\n\n',
    () => {},
  );
  assert.equal(relayed, 'data: {"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":"stop"}]}\n\n');
  assert.equal(frames.usage?.totalTokens, 2);
});

test("an error object or a payload that is not JSON is thrown, not relayed", () => {
  const frames = new ChatCompletionFrames({ includeUsage: true });
  assert.throws(
    () => frames.push('data: {"error":{"message":"overloaded"}}\n\n', () => {}),
    UpstreamStreamError,
  );
  assert.throws(
    () => new ChatCompletionFrames({ includeUsage: true }).push("data: {nope\n\n", () => {}),
    SyntaxError,
  );
});

test("the reply has started with its first text, tool-call or refusal delta, not with the role frame", () => {
  const chunk = (delta: object) =>
    `data: ${JSON.stringify({ choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`;
  for (const delta of [
    { content: "a" },
    { tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "f", arguments: "" } }] },
    { refusal: "no" },
  ]) {
    const frames = new ChatCompletionFrames({ includeUsage: true });
    frames.push(chunk({ role: "assistant", content: "" }), () => {});
    assert.equal(frames.replyStarted, false, "the role frame alone starts nothing");
    frames.push(chunk(delta), () => {});
    assert.equal(frames.replyStarted, true, JSON.stringify(delta));
  }
});

test("the reply is complete with [DONE], or with a finish reason from a server that sends no [DONE]", () => {
  const withoutDone = new ChatCompletionFrames({ includeUsage: true });
  withoutDone.push(chunk("a"), () => {});
  assert.equal(withoutDone.complete, false, "text alone is not a finished reply");
  withoutDone.push(finish, () => {});
  assert.equal(withoutDone.complete, true);

  const onlyDone = new ChatCompletionFrames({ includeUsage: true });
  onlyDone.push(`${chunk("a")}data: [DONE]\n\n`, () => {});
  assert.equal(onlyDone.complete, true);
});
