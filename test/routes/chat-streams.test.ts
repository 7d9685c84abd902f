import assert from "node:assert/strict";
import { test } from "node:test";
import { startChatTestApp } from "../support/chat-test-app.ts";
import { parseSse } from "../support/sse-parser.ts";

// Deltas that break naive framing: newlines inside and at the edges, blank lines, leading spaces,
// something that looks like an SSE field, and text beyond ASCII.
const TRICKY_DELTAS = [
  "First line\nsecond",
  " line\n\n",
  "  indented\n",
  "data: not a field\n",
  "\nend ✓ — ünïcødé",
  "\n",
];

type Post = (path: string, body: unknown) => Promise<Response>;

/** The reply as each endpoint delivers it, rebuilt the way a client would. */
async function rebuildAll(send: Post, model: string, message: string) {
  const json = await send("/chat", { message, model });
  assert.equal(json.status, 200);
  const reply = ((await json.json()) as { reply: string }).reply;

  const sseResponse = await send("/chat/stream", { message, model });
  const sse = parseSse(await sseResponse.text());
  const sseText = sse.events
    .filter((event) => event.event === "message" && event.data !== "[DONE]")
    .map((event) => event.data)
    .join("");

  const textResponse = await send("/chat/stream-text", { message, model });
  const plain = await textResponse.text();
  const plainText = plain.slice(plain.indexOf("\n") + 1);

  const openAIStream = await send("/v1/chat/completions", {
    model,
    stream: true,
    messages: [{ role: "user", content: message }],
  });
  const openAIText = parseSse(await openAIStream.text())
    .events.filter((event) => event.data !== "[DONE]")
    .map((event) => JSON.parse(event.data).choices[0]?.delta?.content ?? "")
    .join("");

  const openAIJson = await send("/v1/chat/completions", {
    model,
    messages: [{ role: "user", content: message }],
  });
  const openAIReply = ((await openAIJson.json()) as { choices: { message: { content: string } }[] })
    .choices[0].message.content;
  return { reply, sseText, plainText, openAIText, openAIReply };
}

for (const model of ["openai:fake-model", "anthropic:claude-fake"]) {
  test(`${model}: every stream rebuilds exactly the non-stream reply, multi-line deltas included`, async (t) => {
    const { post, upstream } = await startChatTestApp(t);
    upstream.script({ deltas: TRICKY_DELTAS });
    const texts = await rebuildAll(post, model, "hi");
    assert.equal(texts.reply, TRICKY_DELTAS.join(""));
    assert.equal(texts.sseText, texts.reply);
    assert.equal(texts.plainText, texts.reply);
    assert.equal(texts.openAIText, texts.reply);
    assert.equal(texts.openAIReply, texts.reply);
    assert.ok(
      upstream.requests.every((request) =>
        request.path.endsWith(model.startsWith("anthropic") ? "/messages" : "/chat/completions"),
      ),
    );
  });
}

test("echo: every stream rebuilds exactly the non-stream reply, which says it is the echo model", async (t) => {
  const { post, upstream } = await startChatTestApp(t, { environment: { ECHO_DELAY_MS: "1" } });
  const message = "Two lines\nand a third\n\n  spaced ✓";
  const texts = await rebuildAll(post, "echo", message);
  assert.match(texts.reply, /echo model/);
  assert.ok(texts.reply.endsWith(message));
  assert.equal(texts.sseText, texts.reply);
  assert.equal(texts.plainText, texts.reply);
  assert.equal(texts.openAIText, texts.reply);
  assert.equal(texts.openAIReply, texts.reply);
  assert.equal(upstream.requests.length, 0, "echo never touches the network");
});

test("/chat/stream frames: meta first with the request id, a data event per delta, usage, [DONE] last", async (t) => {
  const { post, upstream } = await startChatTestApp(t);
  upstream.script({ deltas: ["a\nb", "c"] });
  const response = await post(
    "/chat/stream",
    { message: "hi" },
    { headers: { "content-type": "application/json", "x-request-id": "req-123" } },
  );
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/event-stream");
  assert.equal(response.headers.get("cache-control"), "no-cache");
  assert.equal(response.headers.get("x-accel-buffering"), "no");
  assert.equal(response.headers.get("x-request-id"), "req-123");
  const raw = await response.text();
  assert.ok(raw.startsWith("event: meta\ndata: request_id=req-123\n\n"), raw);
  assert.ok(raw.includes("data: a\ndata: b\n\ndata: c\n\n"), raw);
  assert.ok(raw.endsWith("data: [DONE]\n\n"));
  const { events } = parseSse(raw);
  const usage = events.find((event) => event.event === "usage");
  assert.deepEqual(JSON.parse(usage!.data), {
    prompt_tokens: 7,
    completion_tokens: 2,
    total_tokens: 9,
    finish_reason: "stop",
  });
  assert.equal(events.at(-1)?.data, "[DONE]");
});

test("/chat/stream sends meta before the upstream answers, and pings while it waits", async (t) => {
  const { address, upstream } = await startChatTestApp(t, { environment: { STREAM_PING_MS: "100" } });
  upstream.script({ firstChunkDelayMs: 700 });
  const started = Date.now();
  const response = await fetch(`${address}/chat/stream`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ message: "hi" }),
  });
  const reader = response.body!.getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  assert.ok(first.startsWith("event: meta\n"), first);
  assert.ok(Date.now() - started < 600, "meta arrives before the upstream's first chunk");
  let rest = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    rest += new TextDecoder().decode(value);
  }
  const { comments } = parseSse(first + rest);
  assert.ok(comments.filter((comment) => comment === "ping").length >= 2, `pings: ${comments.length}`);
  assert.ok(rest.endsWith("data: [DONE]\n\n"));
});

test("/chat/stream-text: the request id line, then the text", async (t) => {
  const { post, upstream } = await startChatTestApp(t);
  upstream.script({ deltas: ["one\n", "two"] });
  const response = await post(
    "/chat/stream-text",
    { message: "hi" },
    { headers: { "content-type": "application/json", "x-request-id": "text-1" } },
  );
  assert.equal(response.headers.get("content-type"), "text/plain; charset=utf-8");
  assert.equal(await response.text(), "[request_id=text-1]\none\ntwo");
});
