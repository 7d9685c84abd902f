import assert from "node:assert/strict";
import { test } from "node:test";
import OpenAI from "openai";
import { startChatTestApp } from "../support/chat-test-app.ts";
import { readJson } from "../support/read-json.ts";
import { parseSse } from "../support/sse-parser.ts";

/** Every message kind and every documented field of OpenAI's request, plus vLLM's own. */
const MESSAGES = [
  { role: "system", content: "Be brief." },
  { role: "developer", content: "Prefer tools." },
  {
    role: "user",
    name: "ana",
    content: [
      { type: "text", text: "What is in this picture, and the weather in Lisbon?" },
      { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=", detail: "low" } },
    ],
  },
  {
    role: "assistant",
    content: null,
    refusal: null,
    tool_calls: [
      { id: "call_1", type: "function", function: { name: "weather", arguments: '{"city":"Lisbon"}' } },
    ],
  },
  { role: "tool", tool_call_id: "call_1", content: '{"celsius":21}' },
];

const TOOLS = [
  {
    type: "function",
    function: {
      name: "weather",
      description: "The weather in a city",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
      strict: true,
    },
  },
];

const EVERY_FIELD = {
  model: "fake-model",
  messages: MESSAGES,
  tools: TOOLS,
  tool_choice: { type: "function", function: { name: "weather" } },
  parallel_tool_calls: false,
  response_format: {
    type: "json_schema",
    json_schema: {
      name: "answer",
      strict: true,
      schema: { type: "object", properties: { text: { type: "string" } } },
    },
  },
  n: 2,
  stop: ["\n\n"],
  max_tokens: 50,
  max_completion_tokens: 40,
  temperature: 0.3,
  top_p: 0.9,
  presence_penalty: 0.5,
  frequency_penalty: -0.5,
  logit_bias: { "50256": -100 },
  logprobs: true,
  top_logprobs: 3,
  seed: 42,
  user: "user-7",
  metadata: { team: "search" },
  store: false,
  service_tier: "auto",
  reasoning_effort: "low",
  modalities: ["text"],
  prediction: { type: "content", content: "It is" },
  // vLLM's own, which are why people run vLLM.
  guided_json: { type: "object" },
  top_k: 20,
  repetition_penalty: 1.1,
  chat_template_kwargs: { enable_thinking: false },
};

test("relay, JSON: the upstream receives the client's body as sent, every field, with only model replaced", async (t) => {
  const { post, upstream } = await startChatTestApp(t);
  const response = await post("/v1/chat/completions", { ...EVERY_FIELD, model: "openai:fake-model" });
  assert.equal(response.status, 200, await response.clone().text());
  assert.deepEqual(upstream.requests[0].body, EVERY_FIELD);
  // n > 1: the upstream's choices come back as they are.
  assert.equal(((await response.json()) as { choices: unknown[] }).choices.length, 2);
});

test("relay, stream: the body as sent, plus the usage the service always asks for", async (t) => {
  const { post, upstream } = await startChatTestApp(t);
  const body = { ...EVERY_FIELD, n: 1, stream: true, stream_options: { include_usage: false } };
  const response = await post("/v1/chat/completions", body);
  const { events } = parseSse(await response.text());
  assert.equal(events.at(-1)?.data, "[DONE]");
  assert.ok(events.length > 3, "the reply's frames came through");
  assert.ok(
    events.every((event) => !event.data.includes('"usage"')),
    "the usage frame the client declined stays out",
  );
  assert.deepEqual(upstream.requests[0].body, {
    ...body,
    model: "fake-model",
    stream_options: { include_usage: true },
  });
});

test("relay: tool calls come back whole, and streamed frame by frame, through the official openai client", async (t) => {
  const { address, upstream } = await startChatTestApp(t);
  const client = new OpenAI({ baseURL: `${address}/v1`, apiKey: "anything", maxRetries: 0 });
  const toolCalls = [
    { id: "call_a", name: "weather", arguments: '{"city":"Lisbon"}' },
    { id: "call_b", name: "weather", arguments: '{"city":"Porto"}' },
  ];
  upstream.script({ toolCalls });
  const completion = await client.chat.completions.create({
    model: "openai:fake-model",
    messages: [{ role: "user", content: "Weather in Lisbon and Porto?" }],
    tools: TOOLS as OpenAI.ChatCompletionTool[],
  });
  assert.equal(completion.choices[0].finish_reason, "tool_calls");
  assert.deepEqual(
    completion.choices[0].message.tool_calls?.map(
      (call) => call.type === "function" && [call.id, call.function.arguments],
    ),
    [
      ["call_a", '{"city":"Lisbon"}'],
      ["call_b", '{"city":"Porto"}'],
    ],
  );
  assert.deepEqual(upstream.requests[0].body.tools, TOOLS);

  const stream = await client.chat.completions.create({
    model: "openai:fake-model",
    messages: [{ role: "user", content: "Weather in Lisbon and Porto?" }],
    tools: TOOLS as OpenAI.ChatCompletionTool[],
    stream: true,
  });
  const argumentsByIndex: string[] = [];
  let finishReason: string | null | undefined;
  let toolDeltas = 0;
  for await (const chunk of stream) {
    for (const call of chunk.choices[0]?.delta.tool_calls ?? []) {
      toolDeltas += 1;
      argumentsByIndex[call.index] = (argumentsByIndex[call.index] ?? "") + (call.function?.arguments ?? "");
    }
    finishReason = chunk.choices[0]?.finish_reason ?? finishReason;
  }
  assert.deepEqual(argumentsByIndex, ['{"city":"Lisbon"}', '{"city":"Porto"}']);
  assert.equal(toolDeltas, 6, "every tool-call delta was relayed");
  assert.equal(finishReason, "tool_calls");
});

/**
 * What the language-model source (the AI SDK) cannot carry to any provider: each is a 400 naming
 * it, before any call. A field holding the value that asks for nothing (`n: 1`, `logprobs: false`,
 * `store: false`, `service_tier: "auto"`, `modalities: ["text"]`) changes nothing and is taken.
 */
const REFUSED_EVERYWHERE: [string, Record<string, unknown>][] = [
  ["n", { n: 2 }],
  ["logit_bias", { logit_bias: { "1": 1 } }],
  ["logprobs", { logprobs: true }],
  ["top_logprobs", { top_logprobs: 2 }],
  ["user", { user: "u" }],
  ["metadata", { metadata: { a: "b" } }],
  ["store", { store: true }],
  ["service_tier", { service_tier: "priority" }],
  ["modalities", { modalities: ["text", "audio"] }],
  ["prediction", { prediction: { type: "content", content: "x" } }],
  ["guided_json", { guided_json: {} }],
  ["messages.0.name", { messages: [{ role: "user", name: "ana", content: "hi" }] }],
  ["messages.0.content.1.image_url.detail", { messages: [{ ...MESSAGES[2], name: undefined }] }],
  [
    "messages.0.content.0.file.file_id",
    { messages: [{ role: "user", content: [{ type: "file", file: { file_id: "file-1" } }] }] },
  ],
];

/** What each provider's API cannot honour, on top of those. */
const REFUSED_BY: Record<string, [string, Record<string, unknown>][]> = {
  "anthropic:claude-sonnet-4-5": [
    ["presence_penalty", { presence_penalty: 0.5 }],
    ["frequency_penalty", { frequency_penalty: 0.5 }],
    ["seed", { seed: 1 }],
    [
      "messages.0.content.0",
      {
        messages: [
          {
            role: "user",
            content: [{ type: "input_audio", input_audio: { data: "UklGRg==", format: "wav" } }],
          },
        ],
      },
    ],
  ],
  echo: [
    ["tools", { tools: TOOLS }],
    ["tool_choice", { tool_choice: "auto" }],
    ["parallel_tool_calls", { parallel_tool_calls: false }],
    ["response_format", { response_format: { type: "json_object" } }],
    ["presence_penalty", { presence_penalty: 0.5 }],
    ["frequency_penalty", { frequency_penalty: 0.5 }],
    ["reasoning_effort", { reasoning_effort: "low" }],
    ["top_k", { top_k: 5 }],
    [
      "messages.0.content.1",
      {
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "see" },
              { type: "image_url", image_url: { url: "https://example.com/a.png" } },
            ],
          },
        ],
      },
    ],
    ["messages.1.tool_calls", { messages: [{ role: "user", content: "hi" }, MESSAGES[3]] }],
  ],
};

test("a tool message that answers no earlier tool call is a 400 naming its tool_call_id", async (t) => {
  const { post, upstream } = await startChatTestApp(t);
  const response = await post("/v1/chat/completions", {
    model: "anthropic:claude-sonnet-4-5",
    messages: [
      { role: "user", content: "hi" },
      { role: "tool", tool_call_id: "call_x", content: "x" },
    ],
  });
  assert.equal(response.status, 400);
  const error = (await readJson(response)).error;
  assert.equal(error.code, "validation_failed");
  assert.equal(error.param, "messages.1.tool_call_id");
  assert.equal(upstream.requests.length, 0);
});

for (const model of ["anthropic:claude-sonnet-4-5", "echo"]) {
  test(`${model}: every field its translation cannot carry is a 400 in OpenAI's shape naming it`, async (t) => {
    const { post, upstream } = await startChatTestApp(t);
    for (const stream of [false, true]) {
      for (const [param, fields] of [...REFUSED_EVERYWHERE, ...REFUSED_BY[model]]) {
        const response = await post("/v1/chat/completions", {
          model,
          stream,
          messages: [{ role: "user", content: "hi" }],
          ...fields,
        });
        assert.equal(response.status, 400, `${param}: ${await response.clone().text()}`);
        const error = (await readJson(response)).error;
        assert.equal(error.type, "invalid_request_error");
        assert.equal(error.code, "unsupported_parameter");
        assert.equal(error.param, param);
        assert.match(error.message, new RegExp(model));
      }
    }
    assert.equal(upstream.requests.length, 0, "nothing reached the upstream");
    // Nulls are absent fields, as OpenAI reads them, and what the translation carries still works.
    const fine = await post("/v1/chat/completions", {
      model,
      messages: [
        { role: "developer", content: "Be brief." },
        { role: "user", content: [{ type: "text", text: "hi" }] },
      ],
      temperature: 0.2,

      max_completion_tokens: 20,
      stop: "\n",
      n: 1,
      logprobs: false,
      store: false,
      service_tier: "auto",
      modalities: ["text"],
      seed: null,
      tools: null,
    });
    assert.equal(fine.status, 200, await fine.clone().text());
  });
}
