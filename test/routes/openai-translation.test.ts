import assert from "node:assert/strict";
import { test } from "node:test";
import OpenAI from "openai";
import type { LlmCallEnd, LlmCallObserver } from "../../src/llm/llm-call-observer.ts";
import { startChatTestApp } from "../support/chat-test-app.ts";

/**
 * `/v1/chat/completions` towards a provider without a Chat Completions endpoint (Anthropic): the
 * AI SDK translates tools, tool results, images, structured output and usage both ways, checked
 * with the official openai client against a local server that speaks Anthropic's Messages API.
 */
const MODEL = "anthropic:claude-sonnet-4-5";

const WEATHER_TOOL: OpenAI.ChatCompletionTool = {
  type: "function",
  function: {
    name: "weather",
    description: "The weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};

const TOOL_CALLS = [
  { id: "toolu_a", name: "weather", arguments: '{"city":"Lisbon"}' },
  { id: "toolu_b", name: "weather", arguments: '{"city":"Porto"}' },
];

function recordingObserver() {
  const ends: LlmCallEnd[] = [];
  const observer: LlmCallObserver = {
    start: () => ({ chunk() {}, retry() {}, end: (end) => ends.push(end), upstreamHeaders: () => ({}) }),
  };
  return { ends, observer };
}

async function start(t: Parameters<typeof startChatTestApp>[0]) {
  const recorded = recordingObserver();
  const app = await startChatTestApp(t, { llmCallObserver: recorded.observer });
  const client = new OpenAI({ baseURL: `${app.address}/v1`, apiKey: "anything", maxRetries: 0 });
  return { ...app, client, ends: recorded.ends };
}

test("tools, a named tool_choice and parallel_tool_calls: false reach Anthropic; the calls come back with their ids", async (t) => {
  const { client, upstream, ends } = await start(t);
  upstream.script({ toolCalls: TOOL_CALLS });
  const completion = await client.chat.completions.create({
    model: MODEL,
    messages: [{ role: "user", content: "Weather in Lisbon and Porto?" }],
    tools: [WEATHER_TOOL],
    tool_choice: { type: "function", function: { name: "weather" } },
    parallel_tool_calls: false,
  });
  const sent = upstream.requests[0];
  assert.equal(sent.path, "/v1/messages");
  assert.deepEqual(
    (sent.body.tools as { name: string; description: string; input_schema: unknown }[]).map(
      ({ name, description, input_schema }) => ({ name, description, input_schema }),
    ),
    [
      {
        name: "weather",
        description: "The weather in a city",
        input_schema: WEATHER_TOOL.function.parameters,
      },
    ],
  );
  assert.deepEqual(sent.body.tool_choice, { type: "tool", name: "weather", disable_parallel_tool_use: true });

  const choice = completion.choices[0];
  assert.equal(choice.finish_reason, "tool_calls");
  assert.equal(choice.message.content, null);
  assert.deepEqual(
    choice.message.tool_calls?.map(
      (call) => call.type === "function" && [call.id, call.function.name, call.function.arguments],
    ),
    TOOL_CALLS.map((call) => [call.id, call.name, call.arguments]),
  );
  assert.equal(ends[0].toolCalls, 2, "the observer counts the tool calls");
});

test("streamed tool calls arrive as OpenAI tool-call deltas, assembled by the client as sent", async (t) => {
  const { client, upstream, ends } = await start(t);
  upstream.script({ toolCalls: TOOL_CALLS, deltas: ["Checking both."] });
  const stream = await client.chat.completions.create({
    model: MODEL,
    messages: [{ role: "user", content: "Weather in Lisbon and Porto?" }],
    tools: [WEATHER_TOOL],
    stream: true,
  });
  const calls: { id?: string; name?: string; arguments: string }[] = [];
  let text = "";
  let finishReason: string | null | undefined;
  let argumentDeltas = 0;
  for await (const chunk of stream) {
    const delta = chunk.choices[0]?.delta;
    text += delta?.content ?? "";
    for (const call of delta?.tool_calls ?? []) {
      calls[call.index] ??= { arguments: "" };
      calls[call.index].id ??= call.id;
      calls[call.index].name ??= call.function?.name;
      if (call.function?.arguments) argumentDeltas += 1;
      calls[call.index].arguments += call.function?.arguments ?? "";
    }
    finishReason = chunk.choices[0]?.finish_reason ?? finishReason;
  }
  assert.equal(text, "Checking both.");
  assert.deepEqual(calls, TOOL_CALLS);
  assert.equal(argumentDeltas, 4, "each input_json_delta became its own tool-call delta");
  assert.equal(finishReason, "tool_calls");
  assert.equal(ends[0].toolCalls, 2);
});

test("a tool-result round trip, an image, system and developer prompts, stop and max_completion_tokens are translated", async (t) => {
  const { client, upstream } = await start(t);
  await client.chat.completions.create({
    model: MODEL,
    messages: [
      { role: "system", content: "Be brief." },
      { role: "developer", content: "Prefer tools." },
      {
        role: "user",
        content: [
          { type: "text", text: "What is in this picture, and the weather in Lisbon?" },
          { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
        ],
      },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: "toolu_1", type: "function", function: { name: "weather", arguments: '{"city":"Lisbon"}' } },
        ],
      },
      { role: "tool", tool_call_id: "toolu_1", content: '{"celsius":21}' },
    ],
    tools: [WEATHER_TOOL],
    stop: ["END"],
    max_completion_tokens: 40,
  });
  const body = upstream.requests[0].body as Record<string, unknown>;
  assert.deepEqual(
    (body.system as { text: string }[]).map((block) => block.text),
    ["Be brief.", "Prefer tools."],
  );
  assert.deepEqual(body.stop_sequences, ["END"]);
  assert.equal(body.max_tokens, 40);
  const messages = body.messages as { role: string; content: Record<string, unknown>[] }[];
  assert.deepEqual(
    messages.map((message) => [message.role, message.content.map((block) => block.type)]),
    [
      ["user", ["text", "image"]],
      ["assistant", ["tool_use"]],
      ["user", ["tool_result"]],
    ],
  );
  assert.deepEqual(messages[0].content[1].source, {
    type: "base64",
    media_type: "image/png",
    data: "iVBORw0KGgo=",
  });
  assert.deepEqual(
    { id: messages[1].content[0].id, name: messages[1].content[0].name, input: messages[1].content[0].input },
    { id: "toolu_1", name: "weather", input: { city: "Lisbon" } },
  );
  assert.equal(messages[2].content[0].tool_use_id, "toolu_1");
  assert.match(JSON.stringify(messages[2].content[0].content), /celsius/);
});

test("response_format json_schema reaches Anthropic as structured output with its schema", async (t) => {
  const { client, upstream } = await start(t);
  upstream.script({ deltas: ['{"city":"Lisbon"}'] });
  const schema = {
    type: "object",
    properties: { city: { type: "string" } },
    required: ["city"],
    additionalProperties: false,
  };
  const completion = await client.chat.completions.create({
    model: MODEL,
    messages: [{ role: "user", content: "Which city?" }],
    response_format: { type: "json_schema", json_schema: { name: "answer", schema, strict: true } },
  });
  assert.deepEqual(JSON.parse(completion.choices[0].message.content ?? ""), { city: "Lisbon" });
  const body = upstream.requests[0].body as Record<string, unknown>;
  assert.match(
    JSON.stringify(body.output_format ?? body.output_config ?? body.tools),
    /"city"/,
    JSON.stringify(body),
  );
});

test("usage carries Anthropic's cache reads and writes in OpenAI's fields", async (t) => {
  const { client, upstream } = await start(t);
  upstream.script({ cacheReadTokens: 30, cacheWriteTokens: 12 });
  const completion = await client.chat.completions.create({
    model: MODEL,
    messages: [{ role: "user", content: "hi" }],
  });
  const usage = completion.usage as OpenAI.CompletionUsage & { cache_creation_input_tokens?: number };
  assert.equal(usage.prompt_tokens_details?.cached_tokens, 30);
  assert.equal(usage.cache_creation_input_tokens, 12);
  assert.equal(usage.prompt_tokens, 7 + 30 + 12, "prompt tokens count every input token, cached or not");
});

test("a setting the provider would drop silently (temperature above Anthropic's 1) is a 400 naming it", async (t) => {
  const { post, upstream } = await start(t);
  for (const stream of [false, true]) {
    const response = await post("/v1/chat/completions", {
      model: MODEL,
      stream,
      temperature: 1.5,
      messages: [{ role: "user", content: "hi" }],
    });
    assert.equal(response.status, 400, await response.clone().text());
    const { error } = (await response.json()) as { error: { code: string; param: string } };
    assert.equal(error.code, "unsupported_parameter");
    assert.equal(error.param, "temperature");
  }
  // The warning comes with the provider's answer, so a call was made; the client still got no reply.
  assert.ok(upstream.requests.length <= 2);
});

test("a file the provider takes no such media type of is a 400 in the AI SDK's words, not a 502", async (t) => {
  const { post, upstream } = await start(t);
  const response = await post("/v1/chat/completions", {
    model: MODEL,
    messages: [
      {
        role: "user",
        content: [
          { type: "text", text: "Read this" },
          { type: "file", file: { file_data: "data:application/zip;base64,UEsDBA==", filename: "a.zip" } },
        ],
      },
    ],
  });
  assert.equal(response.status, 400, await response.clone().text());
  const { error } = (await response.json()) as { error: { code: string; param: string; message: string } };
  assert.equal(error.code, "unsupported_parameter");
  assert.equal(error.param, "messages");
  assert.match(error.message, /application\/zip/);
  assert.equal(upstream.requests.length, 0, "the provider refused before any request");
});
