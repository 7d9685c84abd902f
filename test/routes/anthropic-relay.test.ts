// /v1/messages towards the anthropic provider: the client's body is relayed natively to the
// Messages API and Anthropic's own JSON and events come back, checked with the official
// @anthropic-ai/sdk client against a local server that speaks the Messages API.
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import Anthropic from "@anthropic-ai/sdk";
import type { LlmCallEnd, LlmCallObserver, LlmCallStart } from "../../src/llm/llm-call-observer.ts";
import { startChatTestApp } from "../support/chat-test-app.ts";
import { FAKE_TOKEN_COUNT } from "../support/fake-llm-upstream.ts";
import { postMessagesStream } from "../support/post-messages-stream.ts";
import { parseSse } from "../support/sse-parser.ts";
import { startStalledReader } from "../support/stalled-reader.ts";
import { waitForNoActiveStreams } from "../support/wait-for-no-active-streams.ts";

const MODEL = "anthropic:claude-sonnet-4-5";
const TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const TOOL_CALLS = [
  { id: "toolu_a", name: "weather", arguments: '{"city":"Lisbon"}' },
  { id: "toolu_b", name: "weather", arguments: '{"city":"Porto"}' },
];

function recordingObserver() {
  const calls: { start: LlmCallStart; retries: string[]; end?: LlmCallEnd }[] = [];
  const observer: LlmCallObserver = {
    start(start) {
      const call = { start, retries: [] as string[], end: undefined as LlmCallEnd | undefined };
      calls.push(call);
      return {
        chunk() {},
        retry: (reason) => call.retries.push(reason),
        end: (end) => {
          assert.equal(call.end, undefined, "end is called once");
          call.end = end;
        },
        upstreamHeaders: () => ({ traceparent: TRACEPARENT }),
      };
    },
  };
  return { observer, calls };
}

async function start(t: Parameters<typeof startChatTestApp>[0], environment: Record<string, string> = {}) {
  const recorded = recordingObserver();
  const app = await startChatTestApp(t, {
    llmCallObserver: recorded.observer,
    environment,
  });
  const client = new Anthropic({ baseURL: app.address, apiKey: "client-key", maxRetries: 0 });
  return { ...app, client, calls: recorded.calls };
}

/** The same request sent straight to the fake upstream: what the relay must pass on. */
async function straightFromUpstream(baseUrl: string, body: object): Promise<string> {
  const response = await fetch(`${baseUrl}/messages`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return response.text();
}

test("JSON: the body goes on as sent, unknown fields included, and Anthropic's answer comes back byte for byte", async (t) => {
  const { address, upstream, calls } = await start(t);
  upstream.script({ deltas: ["Hello", " there"], cacheReadTokens: 3, cacheWriteTokens: 2 });
  const body = {
    model: MODEL,
    max_tokens: 64,
    system: [{ type: "text", text: "Be brief.", cache_control: { type: "ephemeral" } }],
    messages: [
      { role: "user", content: "Search the docs" },
      {
        role: "assistant",
        content: [
          { type: "server_tool_use", id: "srvtoolu_1", name: "web_search", input: { query: "docs" } },
          {
            type: "web_search_tool_result",
            tool_use_id: "srvtoolu_1",
            content: { type: "web_search_tool_result_error", error_code: "unavailable" },
          },
        ],
      },
      { role: "user", content: "hi" },
    ],
    // Tools Anthropic runs itself, without a name or with fields of their own: all passed on.
    tools: [
      { type: "mcp_toolset", mcp_server_name: "docs" },
      { type: "web_search_20250305", name: "web_search", max_uses: 2 },
    ],
    mcp_servers: [{ type: "url", url: "https://mcp.example.com/sse", name: "docs" }],
    temperature: 0.5,
    top_k: 5,
    metadata: { user_id: "user-1" },
    service_tier: "standard_only",
    container: "a field the service does not know",
  };
  const response = await fetch(`${address}/v1/messages`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-api-key": "client-key",
      "anthropic-version": "2023-06-01",
      "anthropic-beta": "prompt-caching-2024-07-31",
    },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 200, await response.clone().text());
  const requestId = response.headers.get("x-request-id");
  assert.ok(requestId);
  assert.equal(response.headers.get("request-id"), requestId);
  const relayed = await response.text();

  const sent = upstream.requests[0];
  assert.equal(sent.path, "/v1/messages");
  assert.deepEqual(sent.body, { ...body, model: "claude-sonnet-4-5" });
  assert.equal(sent.headers["x-api-key"], "sk-test-anthropic", "the service's key, never the client's");
  assert.equal(sent.headers.authorization, undefined);
  assert.equal(sent.headers["anthropic-version"], "2023-06-01");
  assert.equal(sent.headers["anthropic-beta"], "prompt-caching-2024-07-31");
  assert.equal(sent.headers.traceparent, TRACEPARENT);
  upstream.script({ deltas: ["Hello", " there"], cacheReadTokens: 3, cacheWriteTokens: 2 });
  assert.equal(relayed, await straightFromUpstream(upstream.baseUrl, sent.body));

  assert.equal(calls[0].start.kind, "anthropic_messages");
  assert.equal(calls[0].start.provider, "anthropic");
  assert.deepEqual(calls[0].end, {
    outcome: "success",
    responseModel: "claude-sonnet-4-5",
    finishReason: "stop",
    // Anthropic's 7 uncached input tokens, plus the cache's reads and writes.
    inputTokens: 12,
    outputTokens: 2,
    cachedInputTokens: 3,
    toolCalls: 0,
    output: "Hello there",
    // Without a models file, the model is its own single deployment.
    deployment: "anthropic:claude-sonnet-4-5/0",
    attempts: 1,
  });
});

test("the client's anthropic-version is passed on; without one the relay sends the stable version", async (t) => {
  const { post, upstream } = await start(t);
  const body = { model: MODEL, max_tokens: 16, messages: [{ role: "user", content: "hi" }] };
  const versioned = await post("/v1/messages", body, {
    headers: { "content-type": "application/json", "anthropic-version": "2099-01-01" },
  });
  assert.equal(versioned.status, 200);
  const bare = await post("/v1/messages", body);
  assert.equal(bare.status, 200);
  assert.equal(upstream.requests[0].headers["anthropic-version"], "2099-01-01");
  assert.equal(upstream.requests[1].headers["anthropic-version"], "2023-06-01");
  assert.equal(upstream.requests[1].headers["anthropic-beta"], undefined);
});

test("stream: Anthropic's events are relayed as sent; the SDK rebuilds the message", async (t) => {
  const { address, client, upstream, calls, app } = await start(t);
  upstream.script({ deltas: ["one\n", "two ", "three"], cacheReadTokens: 4 });
  const stream = client.messages.stream({
    model: MODEL,
    max_tokens: 64,
    messages: [{ role: "user", content: "count" }],
  });
  const texts: string[] = [];
  stream.on("text", (text) => texts.push(text));
  const message = await stream.finalMessage();
  assert.deepEqual(texts, ["one\n", "two ", "three"]);
  assert.deepEqual(message.content, [{ type: "text", text: "one\ntwo three" }]);
  assert.equal(message.stop_reason, "end_turn");
  assert.equal(message.usage.cache_read_input_tokens, 4);
  assert.equal(upstream.requests[0].body.stream, true);

  const response = await postMessagesStream(address, MODEL);
  assert.equal(response.headers.get("content-type"), "text/event-stream");
  const relayed = await response.text();
  assert.equal(
    relayed,
    await straightFromUpstream(upstream.baseUrl, { model: "claude-sonnet-4-5", stream: true }),
  );
  assert.equal(calls[0].end?.outcome, "success");
  assert.equal(calls[0].end?.output, "one\ntwo three");
  assert.equal(calls[0].end?.inputTokens, 11);
  assert.equal(calls[0].end?.cachedInputTokens, 4);
  assert.equal(calls[0].end?.outputTokens, 3);
  await waitForNoActiveStreams(app);
});

test("tool use: tool_use blocks (JSON) and input_json_delta events (stream) come back, counted", async (t) => {
  const { client, upstream, calls } = await start(t);
  upstream.script({ toolCalls: TOOL_CALLS });
  const tools: Anthropic.Tool[] = [
    { name: "weather", input_schema: { type: "object", properties: { city: { type: "string" } } } },
  ];
  const message = await client.messages.create({
    model: MODEL,
    max_tokens: 64,
    tools,
    tool_choice: { type: "any", disable_parallel_tool_use: false },
    messages: [{ role: "user", content: "Weather in Lisbon and Porto?" }],
  });
  assert.equal(message.stop_reason, "tool_use");
  assert.deepEqual(
    message.content.map((block) => (block.type === "tool_use" ? [block.id, block.input] : block.type)),
    [
      ["toolu_a", { city: "Lisbon" }],
      ["toolu_b", { city: "Porto" }],
    ],
  );
  assert.deepEqual(upstream.requests[0].body.tools, tools);
  assert.deepEqual(upstream.requests[0].body.tool_choice, { type: "any", disable_parallel_tool_use: false });
  assert.equal(calls[0].end?.toolCalls, 2);

  const stream = client.messages.stream({
    model: MODEL,
    max_tokens: 64,
    tools,
    messages: [{ role: "user", content: "Again?" }],
  });
  const pieces: string[] = [];
  stream.on("inputJson", (piece) => pieces.push(piece));
  const streamed = await stream.finalMessage();
  assert.deepEqual(pieces, ['{"city":"', 'Lisbon"}', '{"city":', '"Porto"}']);
  assert.deepEqual(
    streamed.content.map((block) => (block.type === "tool_use" ? block.input : block.type)),
    [{ city: "Lisbon" }, { city: "Porto" }],
  );
  assert.equal(streamed.stop_reason, "tool_use");
  assert.equal(calls[1].end?.toolCalls, 2);
  assert.equal(calls[1].end?.finishReason, "tool_calls");
});

test("count_tokens is relayed to the provider's own endpoint and its answer passed on", async (t) => {
  const { address, client, upstream } = await start(t);
  const counted = await client.messages.countTokens({
    model: MODEL,
    system: "Be brief.",
    messages: [{ role: "user", content: "hi" }],
  });
  assert.deepEqual(counted, { input_tokens: FAKE_TOKEN_COUNT });
  const sent = upstream.requests[0];
  assert.equal(sent.path, "/v1/messages/count_tokens");
  assert.deepEqual(sent.body, {
    model: "claude-sonnet-4-5",
    system: "Be brief.",
    messages: [{ role: "user", content: "hi" }],
  });
  assert.equal(sent.headers["x-api-key"], "sk-test-anthropic");

  const response = await fetch(`${address}/v1/messages/count_tokens`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "hi" }] }),
  });
  assert.equal(await response.text(), JSON.stringify({ input_tokens: FAKE_TOKEN_COUNT }, null, 1));
});

test("a failure before the first byte is retried; an upstream 400 comes back as Anthropic's invalid_request_error", async (t) => {
  const { client, upstream, calls } = await start(t);
  upstream.script({ status: 529 }, { status: 500 }, { deltas: ["fine"] });
  const message = await client.messages.create({
    model: MODEL,
    max_tokens: 16,
    messages: [{ role: "user", content: "hi" }],
  });
  assert.deepEqual(message.content, [{ type: "text", text: "fine" }]);
  assert.equal(upstream.requests.length, 3);
  assert.deepEqual(calls[0].retries, ["server_error", "server_error"]);

  upstream.script({ status: 400, errorMessage: "tools.0.input_schema: bad schema" });
  await assert.rejects(
    client.messages.create({ model: MODEL, max_tokens: 16, messages: [{ role: "user", content: "hi" }] }),
    (error: unknown) => {
      assert.ok(error instanceof Anthropic.BadRequestError);
      const body = error.error as { type: string; error: { type: string; message: string } };
      assert.equal(body.type, "error");
      assert.equal(body.error.type, "invalid_request_error");
      assert.match(body.error.message, /bad schema/);
      return true;
    },
  );
});

test("stream: an upstream that dies mid-stream ends it with an error event, never a silent truncation", async (t) => {
  const { address, upstream, calls, app } = await start(t);
  // The pause lets the first delta reach the client before the connection goes.
  upstream.script({ deltas: ["one", "two", "three"], chunkDelayMs: 100, dieAfter: 2 });
  const response = await postMessagesStream(address, MODEL);
  const { events } = parseSse(await response.text());
  const names = events.map((event) => event.event);
  assert.deepEqual(names.slice(0, 4), [
    "message_start",
    "content_block_start",
    "ping",
    "content_block_delta",
  ]);
  assert.equal(names.at(-1), "error");
  assert.ok(!names.includes("message_stop"));
  const error = JSON.parse(events.at(-1)!.data);
  assert.equal(error.type, "error");
  assert.equal(error.error.type, "api_error");
  assert.equal(calls[0].end?.outcome, "error");

  // An upstream `error` event: the service's own error event, without the upstream's words.
  upstream.script({
    deltas: ["one", "two"],
    chunkDelayMs: 50,
    errorFrameAfter: 1,
    errorMessage: "secret internals",
  });
  const second = await postMessagesStream(address, MODEL);
  const text = await second.text();
  assert.ok(!text.includes("secret internals"));
  const last = parseSse(text).events.at(-1)!;
  assert.equal(last.event, "error");
  assert.equal(JSON.parse(last.data).type, "error");
  await waitForNoActiveStreams(app);
});

test("stream: a body that ends cleanly without message_stop ends with an error event", async (t) => {
  const { address, upstream, calls } = await start(t);
  // Apart in time, so the end arrives after the first delta went out: too late to retry.
  upstream.script({ deltas: ["one", "two"], chunkDelayMs: 50, endAfter: 1 });
  const response = await postMessagesStream(address, MODEL);
  const { events } = parseSse(await response.text());
  const names = events.map((event) => event.event);
  assert.equal(names.filter((name) => name === "content_block_delta").length, 1);
  assert.ok(!names.includes("message_stop"));
  assert.equal(names.at(-1), "error");
  assert.equal(JSON.parse(events.at(-1)!.data).error.type, "api_error");
  assert.equal(upstream.requests.length, 1);
  assert.equal(calls[0].end?.outcome, "error");
});

test("stream: a connection lost after message_start, before any content, is retried; the client sees one clean stream", async (t) => {
  const { client, upstream, calls } = await start(t);
  // The pause lets message_start arrive, to be held back, before the connection goes.
  upstream.script({ dieAfter: 0, dieDelayMs: 50 }, { deltas: ["second", " try"] });
  const stream = client.messages.stream({
    model: MODEL,
    max_tokens: 64,
    messages: [{ role: "user", content: "x" }],
  });
  const starts: string[] = [];
  stream.on("streamEvent", (event) => {
    if (event.type === "message_start") starts.push(event.message.id);
  });
  const message = await stream.finalMessage();
  assert.deepEqual(message.content, [{ type: "text", text: "second try" }]);
  assert.equal(starts.length, 1, "the first attempt's held message_start never reached the client");
  assert.equal(upstream.requests.length, 2);
  assert.deepEqual(calls[0].retries, ["connection_error"]);
  assert.equal(calls[0].end?.outcome, "success");
});

test("stream: a client that disconnects stops the upstream within a second", async (t) => {
  const { address, upstream, calls, app } = await start(t);
  upstream.script({ deltas: Array.from({ length: 200 }, (_, index) => `d${index} `), chunkDelayMs: 20 });
  const controller = new AbortController();
  const response = await postMessagesStream(address, MODEL, { signal: controller.signal });
  const reader = response.body!.getReader();
  await reader.read();
  const abortedAt = Date.now();
  controller.abort();
  const aborted = await upstream.waitForAbort(0, 5_000);
  assert.ok(aborted.abortedAt! - abortedAt < 1_000, `aborted after ${aborted.abortedAt! - abortedAt} ms`);
  await waitForNoActiveStreams(app);
  assert.equal(calls[0].end?.outcome, "client_disconnected");
});

test("no first byte within LLM_TIMEOUT_MS is a 504 timeout_error; silence past LLM_IDLE_TIMEOUT_MS mid-stream an error event", async (t) => {
  const { address, client, upstream, app } = await start(t, {
    LLM_TIMEOUT_MS: "300",
    LLM_IDLE_TIMEOUT_MS: "300",
    LLM_MAX_RETRIES: "0",
  });
  upstream.script({ firstChunkDelayMs: 2_000 });
  await assert.rejects(
    client.messages.create({ model: MODEL, max_tokens: 16, messages: [{ role: "user", content: "hi" }] }),
    (error: unknown) => {
      assert.ok(error instanceof Anthropic.APIError);
      assert.equal(error.status, 504);
      assert.equal((error.error as { error: { type: string } }).error.type, "timeout_error");
      return true;
    },
  );
  await upstream.waitForAbort(0, 2_000);

  upstream.script({ deltas: ["a", "b", "c"], stallAfter: 1 });
  const response = await postMessagesStream(address, MODEL, { body: { max_tokens: 16 } });
  const events = parseSse(await response.text()).events;
  assert.equal(events.filter((event) => event.event === "content_block_delta").length, 1);
  const last = events.at(-1)!;
  assert.equal(last.event, "error");
  assert.equal(JSON.parse(last.data).error.type, "timeout_error");
  await upstream.waitForAbort(1, 2_000);
  await waitForNoActiveStreams(app);
});

test("stream: a client that stops reading holds the upstream back and is cut after STREAM_STALL_MS", async (t) => {
  const { address, upstream, app } = await start(t, { STREAM_STALL_MS: "1500" });
  const delta = "x".repeat(4096);
  const deltaCount = 16_000; // 64 MiB if nothing held it back
  upstream.script({ deltas: Array.from({ length: deltaCount }, () => delta) });
  const clientRequest = startStalledReader(`${address}/v1/messages`, {
    model: MODEL,
    max_tokens: 16,
    stream: true,
    messages: [{ role: "user", content: "x" }],
  });
  t.after(() => clientRequest.destroy());
  // Time for an unchecked relay to have written far more than the socket buffers hold.
  await sleep(1000);
  const written = upstream.requests[0]?.deltasWritten ?? 0;
  assert.ok(written * delta.length < 16 * 1024 * 1024, `upstream wrote ${written} deltas`);
  await upstream.waitForAbort(0, 4000);
  await waitForNoActiveStreams(app);
});

test("the OpenAPI document describes /v1/messages and count_tokens", async (t) => {
  const { app } = await start(t);
  const document = (await app.inject({ method: "GET", url: "/openapi.json" })).json();
  const messages = document.paths["/v1/messages"].post;
  assert.deepEqual(messages.tags, ["anthropic"]);
  const body = messages.requestBody.content["application/json"].schema;
  for (const field of [
    "messages",
    "system",
    "tools",
    "tool_choice",
    "thinking",
    "max_tokens",
    "stop_sequences",
  ]) {
    assert.ok(body.properties[field], field);
  }
  assert.ok(messages.responses["200"].content["application/json"].schema.properties.stop_reason);
  assert.ok(document.paths["/v1/messages/count_tokens"].post);
});
