// /v1/messages towards providers without a Messages API: the request is translated into the AI
// SDK's prompt and the reply framed back as Anthropic's message and events, so a Claude client can
// use an OpenAI-compatible or local model. Checked with the official @anthropic-ai/sdk client
// against a local server that speaks Chat Completions, and against the built-in echo model.
import assert from "node:assert/strict";
import { test } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import type { LlmCallEnd, LlmCallObserver, LlmCallStart } from "../../src/llm/llm-call-observer.ts";
import { startChatTestApp } from "../support/chat-test-app.ts";
import { startFakeLlmUpstream } from "../support/fake-llm-upstream.ts";
import { postMessagesStream } from "../support/post-messages-stream.ts";
import { parseSse } from "../support/sse-parser.ts";
import { waitForNoActiveStreams } from "../support/wait-for-no-active-streams.ts";

const MODEL = "openai:fake-model";
const WEATHER: Anthropic.Tool = {
  name: "weather",
  description: "The weather in a city",
  input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};
const TOOL_CALLS = [
  { id: "call_a", name: "weather", arguments: '{"city":"Lisbon"}' },
  { id: "call_b", name: "weather", arguments: '{"city":"Porto"}' },
];
const PIXEL =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

function recordingObserver() {
  const calls: { start: LlmCallStart; end?: LlmCallEnd }[] = [];
  const observer: LlmCallObserver = {
    start(start) {
      const call: { start: LlmCallStart; end?: LlmCallEnd } = { start };
      calls.push(call);
      return { chunk() {}, retry() {}, end: (end) => (call.end = end), upstreamHeaders: () => ({}) };
    },
  };
  return { observer, calls };
}

async function start(t: Parameters<typeof startChatTestApp>[0], environment: Record<string, string> = {}) {
  const recorded = recordingObserver();
  const app = await startChatTestApp(t, { llmCallObserver: recorded.observer, environment });
  const client = new Anthropic({ baseURL: app.address, apiKey: "client-key", maxRetries: 0 });
  return { ...app, client, calls: recorded.calls };
}

const SAMPLING = { temperature: 0.5, top_p: 0.9 } as object;

type ErrorBody = { type: string; error: { type: string; message: string } };

/** An Anthropic SDK error's body: Anthropic's error shape. */
function anthropicError(error: unknown): ErrorBody {
  assert.ok(error instanceof Anthropic.APIError, `an APIError, not ${String(error)}`);
  return error.error as ErrorBody;
}

test("JSON: system blocks, sampling, stop_sequences and metadata reach the upstream in Chat Completions form", async (t) => {
  const { client, upstream, calls } = await start(t);
  upstream.script({ deltas: ["Hello", " there"] });
  const message = await client.messages.create({
    model: MODEL,
    max_tokens: 64,
    system: [
      { type: "text", text: "Be brief.", cache_control: { type: "ephemeral" } },
      { type: "text", text: "Be kind." },
    ],
    messages: [
      { role: "user", content: "hi" },
      { role: "assistant", content: [{ type: "text", text: "Hello." }] },
      { role: "user", content: [{ type: "text", text: "Again" }] },
    ],
    // Older SDKs and other clients (LangChain) send the sampling fields this SDK's types dropped.
    ...SAMPLING,
    stop_sequences: ["END"],
    metadata: { user_id: "user-1" },
  });
  assert.equal(message.type, "message");
  assert.equal(message.role, "assistant");
  assert.equal(message.model, MODEL);
  assert.deepEqual(message.content, [{ type: "text", text: "Hello there" }]);
  assert.equal(message.stop_reason, "end_turn");
  assert.equal(message.stop_sequence, null);
  assert.deepEqual(message.usage, {
    input_tokens: 7,
    output_tokens: 2,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
  });
  assert.match(message.id, /^msg_/);

  const sent = upstream.requests[0];
  assert.equal(sent.path, "/v1/chat/completions");
  assert.deepEqual(sent.body, {
    model: "fake-model",
    messages: [
      { role: "system", content: "Be brief.\n\nBe kind." },
      { role: "user", content: "hi" },
      { role: "assistant", content: "Hello." },
      { role: "user", content: "Again" },
    ],
    max_tokens: 64,
    temperature: 0.5,
    top_p: 0.9,
    stop: ["END"],
    user: "user-1",
  });
  assert.equal(calls[0].start.kind, "anthropic_messages");
  assert.equal(calls[0].end?.outcome, "success");
  assert.equal(calls[0].end?.output, "Hello there");
});

test("stream: Anthropic's exact event sequence, which the SDK rebuilds into the message", async (t) => {
  const { address, client, upstream, app } = await start(t);
  upstream.script({ deltas: ["one\n", "two ", "three"] });
  const response = await postMessagesStream(address, MODEL);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/event-stream");
  const { events } = parseSse(await response.text());
  const data = events.map((event) => JSON.parse(event.data));
  assert.deepEqual(
    events.map((event) => event.event),
    data.map((payload) => payload.type),
    "each event's name is its type",
  );
  const requestId = response.headers.get("x-request-id");
  assert.deepEqual(data, [
    {
      type: "message_start",
      message: {
        id: `msg_${requestId}`,
        type: "message",
        role: "assistant",
        model: MODEL,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: {
          input_tokens: 0,
          output_tokens: 0,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
        },
      },
    },
    { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
    { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "one\n" } },
    { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "two " } },
    { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "three" } },
    { type: "content_block_stop", index: 0 },
    {
      type: "message_delta",
      delta: { stop_reason: "end_turn", stop_sequence: null },
      usage: {
        input_tokens: 7,
        output_tokens: 3,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
      },
    },
    { type: "message_stop" },
  ]);

  const stream = client.messages.stream({
    model: MODEL,
    max_tokens: 64,
    messages: [{ role: "user", content: "x" }],
  });
  const message = await stream.finalMessage();
  assert.deepEqual(message.content, [{ type: "text", text: "one\ntwo three" }]);
  assert.equal(message.usage.output_tokens, 3);
  assert.equal(message.usage.input_tokens, 7);
  await waitForNoActiveStreams(app);
});

test("tool use (JSON): tools and tool_choice reach the upstream as functions; tool_use blocks come back with their ids", async (t) => {
  const { client, upstream, calls } = await start(t);
  upstream.script({ toolCalls: TOOL_CALLS });
  const message = await client.messages.create({
    model: MODEL,
    max_tokens: 64,
    tools: [WEATHER],
    tool_choice: { type: "any", disable_parallel_tool_use: true },
    messages: [{ role: "user", content: "Weather in Lisbon and Porto?" }],
  });
  assert.equal(message.stop_reason, "tool_use");
  assert.deepEqual(message.content, [
    { type: "tool_use", id: "call_a", name: "weather", input: { city: "Lisbon" } },
    { type: "tool_use", id: "call_b", name: "weather", input: { city: "Porto" } },
  ]);
  const sent = upstream.requests[0].body;
  assert.deepEqual(sent.tools, [
    {
      type: "function",
      function: { name: "weather", description: "The weather in a city", parameters: WEATHER.input_schema },
    },
  ]);
  assert.equal(sent.tool_choice, "required");
  assert.equal(sent.parallel_tool_calls, false);
  assert.equal(calls[0].end?.toolCalls, 2);
  assert.equal(calls[0].end?.finishReason, "tool_calls");

  upstream.script({ toolCalls: TOOL_CALLS.slice(0, 1) });
  await client.messages.create({
    model: MODEL,
    max_tokens: 64,
    tools: [WEATHER],
    tool_choice: { type: "tool", name: "weather" },
    messages: [{ role: "user", content: "Weather?" }],
  });
  assert.deepEqual(upstream.requests[1].body.tool_choice, {
    type: "function",
    function: { name: "weather" },
  });
});

test("tool use (stream): tool_use blocks with input_json_delta events, one block after another", async (t) => {
  const { address, client, upstream, calls } = await start(t);
  upstream.script({ toolCalls: TOOL_CALLS, deltas: ["Let me look."] });
  const response = await postMessagesStream(address, MODEL, {
    body: { tools: [WEATHER], messages: [{ role: "user", content: "Weather?" }] },
  });
  const data = parseSse(await response.text()).events.map((event) => JSON.parse(event.data));
  const shape = data.map((event) =>
    event.type === "content_block_start"
      ? `start ${event.index} ${event.content_block.type}${event.content_block.id ? ` ${event.content_block.id}` : ""}`
      : event.type === "content_block_delta"
        ? `delta ${event.index} ${event.delta.type}`
        : event.type === "content_block_stop"
          ? `stop ${event.index}`
          : event.type === "message_delta"
            ? `message_delta ${event.delta.stop_reason}`
            : event.type,
  );
  assert.deepEqual(shape, [
    "message_start",
    "start 0 text",
    "delta 0 text_delta",
    "stop 0",
    "start 1 tool_use call_a",
    "delta 1 input_json_delta",
    "delta 1 input_json_delta",
    "stop 1",
    "start 2 tool_use call_b",
    "delta 2 input_json_delta",
    "delta 2 input_json_delta",
    "stop 2",
    "message_delta tool_use",
    "message_stop",
  ]);
  assert.equal(calls[0].end?.toolCalls, 2);

  upstream.script({ toolCalls: TOOL_CALLS });
  const stream = client.messages.stream({
    model: MODEL,
    max_tokens: 64,
    tools: [WEATHER],
    messages: [{ role: "user", content: "Weather?" }],
  });
  const pieces: string[] = [];
  stream.on("inputJson", (piece) => pieces.push(piece));
  const message = await stream.finalMessage();
  assert.deepEqual(pieces.join(""), '{"city":"Lisbon"}{"city":"Porto"}');
  assert.deepEqual(message.content, [
    { type: "tool_use", id: "call_a", name: "weather", input: { city: "Lisbon" } },
    { type: "tool_use", id: "call_b", name: "weather", input: { city: "Porto" } },
  ]);
  assert.equal(message.stop_reason, "tool_use");
});

test("a tool-result round trip: tool_use and tool_result blocks reach the upstream as tool_calls and tool messages", async (t) => {
  const { client, upstream } = await start(t);
  upstream.script({ deltas: ["Sunny in Lisbon, rain in Porto."] });
  const message = await client.messages.create({
    model: MODEL,
    max_tokens: 64,
    tools: [WEATHER],
    messages: [
      { role: "user", content: "Weather in Lisbon and Porto?" },
      {
        role: "assistant",
        content: [
          { type: "text", text: "Looking." },
          { type: "tool_use", id: "call_a", name: "weather", input: { city: "Lisbon" } },
          { type: "tool_use", id: "call_b", name: "weather", input: { city: "Porto" } },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "call_a", content: "sunny" },
          {
            type: "tool_result",
            tool_use_id: "call_b",
            content: [{ type: "text", text: "rain" }],
            is_error: false,
          },
          { type: "text", text: "Summarise." },
        ],
      },
    ],
  });
  assert.deepEqual(message.content, [{ type: "text", text: "Sunny in Lisbon, rain in Porto." }]);
  assert.deepEqual(upstream.requests[0].body.messages, [
    { role: "user", content: "Weather in Lisbon and Porto?" },
    {
      role: "assistant",
      content: "Looking.",
      tool_calls: [
        { id: "call_a", type: "function", function: { name: "weather", arguments: '{"city":"Lisbon"}' } },
        { id: "call_b", type: "function", function: { name: "weather", arguments: '{"city":"Porto"}' } },
      ],
    },
    { role: "tool", tool_call_id: "call_a", content: "sunny" },
    { role: "tool", tool_call_id: "call_b", content: "rain" },
    { role: "user", content: "Summarise." },
  ]);

  await assert.rejects(
    client.messages.create({
      model: MODEL,
      max_tokens: 64,
      messages: [{ role: "user", content: [{ type: "tool_result", tool_use_id: "nobody", content: "x" }] }],
    }),
    (error: unknown) => {
      const body = anthropicError(error);
      assert.equal(body.error.type, "invalid_request_error");
      assert.match(body.error.message, /messages\.0\.content\.0\.tool_use_id/);
      return true;
    },
  );
});

test("images: base64 and url sources reach the upstream as image_url parts", async (t) => {
  const { client, upstream } = await start(t);
  await client.messages.create({
    model: MODEL,
    max_tokens: 64,
    messages: [
      {
        role: "user",
        content: [
          { type: "text", text: "What are these?" },
          { type: "image", source: { type: "base64", media_type: "image/png", data: PIXEL } },
          { type: "image", source: { type: "url", url: "https://example.com/cat.png" } },
        ],
      },
    ],
  });
  assert.deepEqual(upstream.requests[0].body.messages, [
    {
      role: "user",
      content: [
        { type: "text", text: "What are these?" },
        { type: "image_url", image_url: { url: `data:image/png;base64,${PIXEL}` } },
        { type: "image_url", image_url: { url: "https://example.com/cat.png" } },
      ],
    },
  ]);
});

test("what the translation cannot carry is a 400 in Anthropic's shape naming the field, before any upstream call", async (t) => {
  const { client, upstream } = await start(t);
  const refusals: [string, Record<string, unknown>][] = [
    ["container", { container: "box" }],
    ["tools.0.type", { tools: [{ type: "web_search_20250305", name: "web_search" }] }],
    [
      "messages.0.content.0.citations",
      { messages: [{ role: "user", content: [{ type: "text", text: "hi", citations: [{ type: "x" }] }] }] },
    ],
    ["thinking.type", { thinking: { type: "adaptive" } }],
  ];
  for (const [param, fields] of refusals) {
    await assert.rejects(
      client.messages.create({
        model: MODEL,
        max_tokens: 64,
        messages: [{ role: "user", content: "hi" }],
        ...fields,
      } as Anthropic.MessageCreateParamsNonStreaming),
      (error: unknown) => {
        assert.ok(error instanceof Anthropic.BadRequestError, `${param}: ${String(error)}`);
        const body = anthropicError(error);
        assert.equal(body.type, "error");
        assert.equal(body.error.type, "invalid_request_error");
        assert.ok(body.error.message.includes(`\`${param}\``), `${param}: ${body.error.message}`);
        assert.match(body.error.message, /use an anthropic model/);
        return true;
      },
    );
  }
  assert.equal(upstream.requests.length, 0);

  // The AI SDK's OpenAI provider says it drops top_k only in the warnings that come with its answer.
  await assert.rejects(
    client.messages.create({
      model: MODEL,
      max_tokens: 64,
      messages: [{ role: "user", content: "hi" }],
      ...({ top_k: 5 } as object),
    }),
    (error: unknown) => {
      assert.ok(error instanceof Anthropic.BadRequestError);
      assert.match(anthropicError(error).error.message, /`top_k`/);
      return true;
    },
  );
});

test("echo: plain chat works as JSON and stream; tools are a 400 naming tools", async (t) => {
  const { client, upstream } = await start(t);
  const message = await client.messages.create({
    model: "echo",
    max_tokens: 64,
    messages: [{ role: "user", content: "ping" }],
    metadata: { user_id: "user-1" },
  });
  assert.equal(message.content[0].type, "text");
  assert.match((message.content[0] as Anthropic.TextBlock).text, /ping/);
  assert.equal(message.stop_reason, "end_turn");

  const streamed = await client.messages
    .stream({ model: "echo", max_tokens: 64, messages: [{ role: "user", content: "ping" }] })
    .finalMessage();
  assert.deepEqual(streamed.content, message.content);

  await assert.rejects(
    client.messages.create({
      model: "echo",
      max_tokens: 64,
      tools: [WEATHER],
      messages: [{ role: "user", content: "Weather?" }],
    }),
    (error: unknown) => {
      assert.ok(error instanceof Anthropic.BadRequestError);
      assert.match(anthropicError(error).error.message, /`tools`/);
      return true;
    },
  );
  assert.equal(upstream.requests.length, 0);
});

test("ollama: a local OpenAI-compatible server serves a Claude client: JSON, stream and tools", async (t) => {
  const ollama = await startFakeLlmUpstream();
  t.after(() => ollama.close());
  const { client } = await start(t, { OLLAMA_BASE_URL: ollama.baseUrl });
  const model = "ollama:llama3.2";
  ollama.script({ deltas: ["local", " answer"] });
  const message = await client.messages.create({
    model,
    max_tokens: 64,
    messages: [{ role: "user", content: "hi" }],
  });
  assert.deepEqual(message.content, [{ type: "text", text: "local answer" }]);
  const streamed = await client.messages
    .stream({ model, max_tokens: 64, messages: [{ role: "user", content: "hi" }] })
    .finalMessage();
  assert.deepEqual(streamed.content, [{ type: "text", text: "local answer" }]);
  ollama.script({ toolCalls: TOOL_CALLS.slice(0, 1) });
  const called = await client.messages.create({
    model,
    max_tokens: 64,
    tools: [WEATHER],
    messages: [{ role: "user", content: "Weather?" }],
  });
  assert.deepEqual(called.content, [
    { type: "tool_use", id: "call_a", name: "weather", input: { city: "Lisbon" } },
  ]);
  ollama.script({ toolCalls: TOOL_CALLS.slice(0, 1) });
  const streamedCall = await client.messages
    .stream({ model, max_tokens: 64, tools: [WEATHER], messages: [{ role: "user", content: "Weather?" }] })
    .finalMessage();
  assert.deepEqual(streamedCall.content, called.content);
  assert.equal(streamedCall.stop_reason, "tool_use");
  assert.deepEqual(
    ollama.requests.map((request) => [request.path, request.body.model]),
    [
      ["/v1/chat/completions", "llama3.2"],
      ["/v1/chat/completions", "llama3.2"],
      ["/v1/chat/completions", "llama3.2"],
      ["/v1/chat/completions", "llama3.2"],
    ],
  );
  assert.equal(ollama.requests[0].headers.authorization, "Bearer ollama");
});

test("thinking: a budget becomes the nearest reasoning effort; disabled asks for nothing; echo refuses it", async (t) => {
  const { client, upstream } = await start(t);
  await client.messages.create({
    model: MODEL,
    max_tokens: 4000,
    thinking: { type: "enabled", budget_tokens: 1200 },
    messages: [{ role: "user", content: "think" }],
  });
  assert.equal(upstream.requests[0].body.reasoning_effort, "medium");
  await client.messages.create({
    model: MODEL,
    max_tokens: 4000,
    thinking: { type: "disabled" },
    messages: [{ role: "user", content: "think" }],
  });
  assert.equal(upstream.requests[1].body.reasoning_effort, undefined);
  await assert.rejects(
    client.messages.create({
      model: "echo",
      max_tokens: 4000,
      thinking: { type: "enabled", budget_tokens: 1200 },
      messages: [{ role: "user", content: "think" }],
    }),
    (error: unknown) => {
      assert.ok(error instanceof Anthropic.BadRequestError);
      assert.match(anthropicError(error).error.message, /`thinking`/);
      return true;
    },
  );
});

test("errors under /v1/messages are in Anthropic's shape with a request id; x-api-key is the service's key", async (t) => {
  const { address, client } = await start(t, { API_KEYS: "service-key" });
  await assert.rejects(
    client.messages.create({ model: MODEL, max_tokens: 16, messages: [{ role: "user", content: "hi" }] }),
    (error: unknown) => {
      assert.ok(error instanceof Anthropic.AuthenticationError);
      assert.equal(anthropicError(error).error.type, "authentication_error");
      assert.ok(error.requestID);
      return true;
    },
  );
  const authorised = new Anthropic({ baseURL: address, apiKey: "service-key", maxRetries: 0 });
  const message = await authorised.messages.create({
    model: MODEL,
    max_tokens: 16,
    messages: [{ role: "user", content: "hi" }],
  });
  assert.equal(message.type, "message");

  const post = (path: string, body: unknown) =>
    fetch(`${address}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": "service-key" },
      body: JSON.stringify(body),
    });
  const invalid = await post("/v1/messages", { model: MODEL, max_tokens: 16 });
  assert.equal(invalid.status, 400);
  const invalidBody = (await invalid.json()) as ErrorBody & { request_id: string };
  assert.equal(invalidBody.type, "error");
  assert.equal(invalidBody.error.type, "invalid_request_error");
  assert.match(invalidBody.error.message, /messages/);
  assert.equal(invalidBody.request_id, invalid.headers.get("request-id"));

  const unknownModel = await post("/v1/messages", {
    model: "nowhere:model",
    max_tokens: 16,
    messages: [{ role: "user", content: "hi" }],
  });
  assert.equal(unknownModel.status, 400);
  assert.equal(((await unknownModel.json()) as ErrorBody).error.type, "invalid_request_error");

  const missing = await post("/v1/messages/batches", {});
  assert.equal(missing.status, 404);
  assert.equal(((await missing.json()) as ErrorBody).error.type, "not_found_error");

  // Beside /v1/messages the OpenAI shape stays.
  const openAI = await post("/v1/chat/completions", { messages: [] });
  assert.equal(typeof ((await openAI.json()) as { error: { code: unknown } }).error.code, "string");
});

test("count_tokens for a provider without a token-counting endpoint is a 400 that says so", async (t) => {
  const { client, upstream } = await start(t);
  for (const model of [MODEL, "echo"]) {
    await assert.rejects(
      client.messages.countTokens({ model, messages: [{ role: "user", content: "hi" }] }),
      (error: unknown) => {
        assert.ok(error instanceof Anthropic.BadRequestError);
        const body = anthropicError(error);
        assert.equal(body.error.type, "invalid_request_error");
        assert.match(body.error.message, /cannot count tokens/);
        return true;
      },
    );
  }
  assert.equal(upstream.requests.length, 0);
});

test("stream: an upstream that dies mid-stream ends the translated stream with an error event", async (t) => {
  const { address, upstream, calls, app } = await start(t);
  upstream.script({ deltas: ["one", "two", "three"], chunkDelayMs: 100, dieAfter: 2 });
  const response = await postMessagesStream(address, MODEL);
  const { events } = parseSse(await response.text());
  const names = events.map((event) => event.event);
  assert.deepEqual(names.slice(0, 2), ["message_start", "content_block_start"]);
  assert.equal(names.at(-1), "error");
  assert.ok(!names.includes("message_stop"));
  assert.equal(JSON.parse(events.at(-1)!.data).type, "error");
  assert.equal(calls[0].end?.outcome, "error");
  await waitForNoActiveStreams(app);
});

test("stream: Anthropic's ping event while the model is idle, never a bare comment", async (t) => {
  const { address, upstream } = await start(t, { STREAM_PING_MS: "50" });
  upstream.script({ deltas: ["slow", " answer"], chunkDelayMs: 400 });
  const response = await postMessagesStream(address, MODEL);
  const { events, comments } = parseSse(await response.text());
  const pings = events.filter((event) => event.event === "ping");
  assert.ok(pings.length >= 2, `${pings.length} pings`);
  assert.deepEqual(JSON.parse(pings[0].data), { type: "ping" });
  assert.deepEqual(comments, []);
  assert.equal(events.at(-1)?.event, "message_stop");
});

test("output_config: a JSON schema becomes structured output and effort a reasoning effort; cache_control is a hint", async (t) => {
  const { client, upstream } = await start(t);
  upstream.script({ deltas: ['{"city":"Lisbon"}'] });
  const schema = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };
  const message = await client.messages.create({
    model: MODEL,
    max_tokens: 64,
    cache_control: { type: "ephemeral" },
    output_config: { effort: "high", format: { type: "json_schema", schema } },
    messages: [{ role: "user", content: "Which city?" }],
  });
  assert.deepEqual(message.content, [{ type: "text", text: '{"city":"Lisbon"}' }]);
  const sent = upstream.requests[0].body;
  assert.equal(sent.reasoning_effort, "high");
  const format = sent.response_format as { type: string; json_schema: { schema: unknown } };
  assert.equal(format.type, "json_schema");
  assert.deepEqual(format.json_schema.schema, schema);
});

test("stream: a client that disconnects from a translated stream stops the upstream within a second", async (t) => {
  const { address, upstream, calls, app } = await start(t);
  upstream.script({ deltas: Array.from({ length: 200 }, (_, index) => `d${index} `), chunkDelayMs: 20 });
  const controller = new AbortController();
  const response = await postMessagesStream(address, MODEL, { signal: controller.signal });
  await response.body!.getReader().read();
  const abortedAt = Date.now();
  controller.abort();
  const aborted = await upstream.waitForAbort(0, 5_000);
  assert.ok(aborted.abortedAt! - abortedAt < 1_000, `aborted after ${aborted.abortedAt! - abortedAt} ms`);
  await waitForNoActiveStreams(app);
  assert.equal(calls[0].end?.outcome, "client_disconnected");
});
