import assert from "node:assert/strict";
import { test } from "node:test";
import { AIMessage, type AIMessageChunk, HumanMessage, ToolMessage } from "@langchain/core/messages";
import { ChatOpenAI, OpenAIEmbeddings } from "@langchain/openai";
import { startChatTestApp } from "../support/chat-test-app.ts";
import { checkMatrixRow } from "../support/check-matrix-row.ts";
import type { FakeLlmUpstream } from "../support/fake-llm-upstream.ts";
import { type Feature, MATRIX, namesParam, type ProviderLabel } from "../support/openai-surface-matrix.ts";

/**
 * The OpenAI surface's matrix through LangChain's `ChatOpenAI` and `OpenAIEmbeddings`, as a LangChain
 * application would call them: `invoke`, `stream`, `bindTools`, `withStructuredOutput`.
 */
type Context = { address: string; upstream: FakeLlmUpstream; model: string; label: ProviderLabel };

const LISBON = { id: "call_lisbon", name: "weather", arguments: '{"city":"Lisbon"}' };
const PORTO = { id: "call_porto", name: "weather", arguments: '{"city":"Porto"}' };
const WEATHER = {
  type: "function" as const,
  function: {
    name: "weather",
    description: "The weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};

function chat(context: Context, fields: ConstructorParameters<typeof ChatOpenAI>[0] = {}) {
  return new ChatOpenAI({
    model: context.model,
    apiKey: "anything",
    configuration: { baseURL: `${context.address}/v1` },
    maxRetries: 0,
    ...fields,
  });
}

const CHECKS: Record<Feature, (context: Context) => Promise<void>> = {
  async "plain chat"(context) {
    const reply = await chat(context).invoke("Weather in Lisbon?");
    if (context.label === "echo") assert.match(String(reply.content), /You said: Weather in Lisbon\?/);
    else assert.equal(reply.content, "Hello from the fake upstream.");
    assert.ok((reply.usage_metadata?.total_tokens ?? 0) > 0);
  },
  async stream(context) {
    let text = "";
    let pieces = 0;
    for await (const chunk of await chat(context).stream("Weather in Lisbon?")) {
      text += String(chunk.content);
      pieces += 1;
    }
    if (context.label === "echo") assert.match(text, /You said: Weather in Lisbon\?/);
    else assert.equal(text, "Hello from the fake upstream.");
    assert.ok(pieces > 1, "the reply arrived in pieces");
  },
  async "tool call"(context) {
    context.upstream.script({ toolCalls: [LISBON] });
    const reply = await chat(context).bindTools([WEATHER]).invoke("Weather?");
    assert.deepEqual(
      reply.tool_calls?.map((call) => [call.id, call.name, call.args]),
      [[LISBON.id, "weather", { city: "Lisbon" }]],
    );
  },
  async "tool call, streamed"(context) {
    context.upstream.script({ toolCalls: [LISBON] });
    let whole: AIMessageChunk | undefined;
    for await (const chunk of await chat(context).bindTools([WEATHER]).stream("Weather?")) {
      whole = whole === undefined ? chunk : whole.concat(chunk);
    }
    assert.deepEqual(
      whole?.tool_calls?.map((call) => [call.id, call.name, call.args]),
      [[LISBON.id, "weather", { city: "Lisbon" }]],
    );
  },
  async "tool-result round trip"(context) {
    await chat(context)
      .bindTools([WEATHER])
      .invoke([
        new HumanMessage("Weather in Lisbon?"),
        new AIMessage({
          content: "",
          tool_calls: [{ id: LISBON.id, name: "weather", args: { city: "Lisbon" } }],
        }),
        new ToolMessage({ tool_call_id: LISBON.id, content: '{"celsius":21}' }),
      ]);
    const sent = JSON.stringify(context.upstream.requests.at(-1)?.body.messages);
    assert.match(
      sent,
      context.label === "anthropic" ? /"tool_use_id":"call_lisbon"/ : /"tool_call_id":"call_lisbon"/,
    );
  },
  async "parallel tool calls"(context) {
    context.upstream.script({ toolCalls: [LISBON, PORTO] });
    const reply = await chat(context).bindTools([WEATHER]).invoke("Both?");
    assert.deepEqual(
      reply.tool_calls?.map((call) => call.id),
      [LISBON.id, PORTO.id],
    );
  },
  async "json_schema output"(context) {
    context.upstream.script({ deltas: ['{"city":"Lisbon"}'] });
    const structured = chat(context).withStructuredOutput(
      {
        title: "answer",
        type: "object",
        properties: { city: { type: "string" } },
        required: ["city"],
        additionalProperties: false,
      },
      { method: "jsonSchema", strict: true },
    );
    assert.deepEqual(await structured.invoke("Which city?"), { city: "Lisbon" });
  },
  async "image part"(context) {
    await chat(context).invoke([
      new HumanMessage({
        content: [
          { type: "text", text: "What is this?" },
          { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
        ],
      }),
    ]);
    const sent = JSON.stringify(context.upstream.requests.at(-1)?.body.messages);
    assert.match(sent, context.label === "anthropic" ? /"type":"image"/ : /"type":"image_url"/);
  },
  async "extra parameters"(context) {
    const extra = { top_k: 20, repetition_penalty: 1.1, chat_template_kwargs: { enable_thinking: false } };
    await chat(context, { modelKwargs: extra }).invoke("hi");
    const sent = context.upstream.requests.at(-1)?.body ?? {};
    assert.deepEqual(
      {
        top_k: sent.top_k,
        repetition_penalty: sent.repetition_penalty,
        chat_template_kwargs: sent.chat_template_kwargs,
      },
      extra,
    );
  },
  async "n > 1"(context) {
    const result = await chat(context, { n: 2 }).generate([[new HumanMessage("hi")]]);
    assert.equal(result.generations[0].length, 2);
  },
  async logprobs(context) {
    await chat(context, { logprobs: true, topLogprobs: 2 }).invoke("hi");
    const sent = context.upstream.requests.at(-1)?.body ?? {};
    assert.deepEqual([sent.logprobs, sent.top_logprobs], [true, 2]);
  },
  async embeddings(context) {
    const embeddings = new OpenAIEmbeddings({
      model: context.label === "echo" ? "echo" : `${context.model.split(":")[0]}:text-embedding-3-small`,
      apiKey: "anything",
      configuration: { baseURL: `${context.address}/v1` },
      maxRetries: 0,
    });
    const vectors = await embeddings.embedDocuments(["one", "two"]);
    assert.equal(vectors.length, 2);
    assert.ok(vectors.every((vector) => vector.length > 0));
  },
};

/** The HTTP status and OpenAI `param` of a refused call, however LangChain wrapped the error. */
function refusal(error: unknown): { status: unknown; param: unknown } {
  const failure = error as {
    status?: unknown;
    param?: unknown;
    error?: { param?: unknown };
    cause?: unknown;
  };
  const cause = failure.cause as { status?: unknown; param?: unknown } | undefined;
  return {
    status: failure.status ?? cause?.status,
    param: failure.param ?? failure.error?.param ?? cause?.param,
  };
}

for (const [feature, check] of Object.entries(CHECKS) as [Feature, (context: Context) => Promise<void>][]) {
  test(`LangChain ChatOpenAI, ${feature}: each provider as the matrix says`, async (t) => {
    const { address, upstream } = await startChatTestApp(t, { withOllama: true });
    await checkMatrixRow({
      feature,
      row: MATRIX[feature],
      upstream,
      run: (label, model) => check({ address, upstream, model, label }),
      assertRefused(error, expected, label) {
        const { status, param } = refusal(error);
        assert.equal(status, 400, `${label}: ${String(error)}`);
        assert.ok(namesParam(param, expected), `${label}: param ${String(param)}, expected ${expected}`);
      },
    });
  });
}
