import assert from "node:assert/strict";
import { test } from "node:test";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { APICallError } from "@ai-sdk/provider";
import { embedMany, generateText, isStepCount, jsonSchema, Output, streamText, tool } from "ai";
import { startChatTestApp } from "../support/chat-test-app.ts";
import { checkMatrixRow } from "../support/check-matrix-row.ts";
import type { FakeLlmUpstream } from "../support/fake-llm-upstream.ts";
import { type Feature, MATRIX, namesParam, type ProviderLabel } from "../support/openai-surface-matrix.ts";

/**
 * The OpenAI surface's matrix through the AI SDK's `@ai-sdk/openai-compatible` provider, as an
 * application using `generateText`, `streamText`, structured output, tools and `embedMany` would
 * call it. The matrix's `n > 1` and `logprobs` rows are not what this client sends.
 */
type Provider = ReturnType<typeof createOpenAICompatible>;
type Context = { provider: Provider; upstream: FakeLlmUpstream; model: string; label: ProviderLabel };

const LISBON = { id: "call_lisbon", name: "weather", arguments: '{"city":"Lisbon"}' };
const PORTO = { id: "call_porto", name: "weather", arguments: '{"city":"Porto"}' };
const weatherSchema = jsonSchema<{ city: string }>({
  type: "object",
  properties: { city: { type: "string" } },
  required: ["city"],
  additionalProperties: false,
});
/** A tool the model may call but the application answers itself (no `execute`). */
const weather = tool({ description: "The weather in a city", inputSchema: weatherSchema });

/** A streamed call's error part, thrown, so refused streams fail like refused calls. */
async function drain(stream: AsyncIterable<{ type: string; error?: unknown }>) {
  const parts: { type: string }[] = [];
  for await (const part of stream) {
    if (part.type === "error") throw part.error;
    parts.push(part);
  }
  return parts;
}

const CHECKS: Partial<Record<Feature, (context: Context) => Promise<void>>> = {
  async "plain chat"({ provider, model, label }) {
    const result = await generateText({
      model: provider(model),
      prompt: "Weather in Lisbon?",
      maxRetries: 0,
    });
    if (label === "echo") assert.match(result.text, /You said: Weather in Lisbon\?/);
    else assert.equal(result.text, "Hello from the fake upstream.");
    assert.ok((result.usage.outputTokens ?? 0) > 0);
  },
  async stream({ provider, model, label }) {
    const result = streamText({ model: provider(model), prompt: "Weather in Lisbon?", maxRetries: 0 });
    await drain(result.fullStream);
    const text = await result.text;
    if (label === "echo") assert.match(text, /You said: Weather in Lisbon\?/);
    else assert.equal(text, "Hello from the fake upstream.");
    assert.equal(await result.finishReason, "stop");
  },
  async "tool call"({ provider, upstream, model }) {
    upstream.script({ toolCalls: [LISBON] });
    const result = await generateText({
      model: provider(model),
      prompt: "Weather?",
      tools: { weather },
      maxRetries: 0,
    });
    assert.deepEqual(
      result.toolCalls.map((call) => [call.toolCallId, call.toolName, call.input]),
      [[LISBON.id, "weather", { city: "Lisbon" }]],
    );
    assert.equal(result.finishReason, "tool-calls");
  },
  async "tool call, streamed"({ provider, upstream, model }) {
    upstream.script({ toolCalls: [LISBON] });
    const result = streamText({
      model: provider(model),
      prompt: "Weather?",
      tools: { weather },
      maxRetries: 0,
    });
    const parts = await drain(result.fullStream);
    assert.ok(
      parts.some((part) => part.type === "tool-input-delta"),
      "the arguments arrived in pieces",
    );
    assert.deepEqual(
      (await result.toolCalls).map((call) => [call.toolCallId, call.input]),
      [[LISBON.id, { city: "Lisbon" }]],
    );
  },
  async "tool-result round trip"({ provider, upstream, model, label }) {
    // The model calls the tool, the SDK runs it and sends the result back in a second request.
    upstream.script({ toolCalls: [LISBON] }, { deltas: ["It is 21 °C."] });
    const result = await generateText({
      model: provider(model),
      prompt: "Weather in Lisbon?",
      tools: { weather: tool({ inputSchema: weatherSchema, execute: async () => ({ celsius: 21 }) }) },
      stopWhen: isStepCount(2),
      maxRetries: 0,
    });
    assert.equal(result.text, "It is 21 °C.");
    const sent = JSON.stringify(upstream.requests.at(-1)?.body.messages);
    assert.match(
      sent,
      label === "anthropic" ? /"tool_use_id":"call_lisbon"/ : /"tool_call_id":"call_lisbon"/,
    );
    assert.match(sent, /celsius/);
  },
  async "parallel tool calls"({ provider, upstream, model }) {
    upstream.script({ toolCalls: [LISBON, PORTO] });
    const result = await generateText({
      model: provider(model),
      prompt: "Both?",
      tools: { weather },
      maxRetries: 0,
    });
    assert.deepEqual(
      result.toolCalls.map((call) => call.toolCallId),
      [LISBON.id, PORTO.id],
    );
  },
  async "json_schema output"({ provider, upstream, model }) {
    upstream.script({ deltas: ['{"city":"Lisbon"}'] });
    const result = await generateText({
      model: provider(model),
      prompt: "Which city?",
      output: Output.object({ schema: weatherSchema }),
      maxRetries: 0,
    });
    assert.deepEqual(result.output, { city: "Lisbon" });
  },
  async "image part"({ provider, upstream, model, label }) {
    await generateText({
      model: provider(model),
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "What is this?" },
            { type: "image", image: Buffer.from("iVBORw0KGgo=", "base64"), mediaType: "image/png" },
          ],
        },
      ],
      maxRetries: 0,
    });
    const sent = JSON.stringify(upstream.requests.at(-1)?.body.messages);
    assert.match(sent, label === "anthropic" ? /"type":"image"/ : /"type":"image_url"/);
    assert.match(sent, /iVBORw0KGgo=/);
  },
  async "extra parameters"({ provider, upstream, model }) {
    const extra = { top_k: 20, repetition_penalty: 1.1, chat_template_kwargs: { enable_thinking: false } };
    await generateText({
      model: provider(model),
      prompt: "hi",
      providerOptions: { gateway: extra },
      maxRetries: 0,
    });
    const sent = upstream.requests.at(-1)?.body ?? {};
    assert.deepEqual(
      {
        top_k: sent.top_k,
        repetition_penalty: sent.repetition_penalty,
        chat_template_kwargs: sent.chat_template_kwargs,
      },
      extra,
    );
  },
  async embeddings({ provider, model, label }) {
    const embeddingModel = label === "echo" ? "echo" : `${model.split(":")[0]}:text-embedding-3-small`;
    const { embeddings } = await embedMany({
      model: provider.embeddingModel(embeddingModel),
      values: ["one", "two"],
      maxRetries: 0,
    });
    assert.equal(embeddings.length, 2);
  },
};

for (const [feature, check] of Object.entries(CHECKS) as [Feature, (context: Context) => Promise<void>][]) {
  test(`AI SDK (openai-compatible), ${feature}: each provider as the matrix says`, async (t) => {
    const { address, upstream } = await startChatTestApp(t, { withOllama: true });
    const provider = createOpenAICompatible({
      name: "gateway",
      baseURL: `${address}/v1`,
      apiKey: "anything",
      supportsStructuredOutputs: true,
      includeUsage: true,
    });
    await checkMatrixRow({
      feature,
      row: MATRIX[feature],
      upstream,
      run: (label, model) => check({ provider, upstream, model, label }),
      assertRefused(error, expected, label) {
        assert.ok(APICallError.isInstance(error), `${label}: ${String(error)}`);
        assert.equal(error.statusCode, 400, `${label}: ${error.message}`);
        const param = (JSON.parse(error.responseBody ?? "{}") as { error?: { param?: unknown } }).error
          ?.param;
        assert.ok(namesParam(param, expected), `${label}: param ${String(param)}, expected ${expected}`);
      },
    });
  });
}
