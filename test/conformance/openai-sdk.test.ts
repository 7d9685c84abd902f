import assert from "node:assert/strict";
import { test } from "node:test";
import OpenAI from "openai";
import { startChatTestApp } from "../support/chat-test-app.ts";
import { checkMatrixRow } from "../support/check-matrix-row.ts";
import type { FakeLlmUpstream } from "../support/fake-llm-upstream.ts";
import {
  FEATURES,
  type Feature,
  MATRIX,
  namesParam,
  PROVIDERS,
  type ProviderLabel,
} from "../support/openai-surface-matrix.ts";

/**
 * Every cell of the OpenAI surface's matrix through the official `openai` client: each feature
 * works on each provider, or is refused with a 400 naming the field, and what the upstream
 * received is checked where the relay passes the body on.
 */
const WEATHER: OpenAI.ChatCompletionTool = {
  type: "function",
  function: {
    name: "weather",
    description: "The weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};
const LISBON = { id: "call_lisbon", name: "weather", arguments: '{"city":"Lisbon"}' };
const PORTO = { id: "call_porto", name: "weather", arguments: '{"city":"Porto"}' };
const IMAGE_URL = "data:image/png;base64,iVBORw0KGgo=";
const USER = { role: "user" as const, content: "Weather in Lisbon?" };

type Context = { client: OpenAI; upstream: FakeLlmUpstream; model: string; provider: ProviderLabel };

/** What each feature sends, and what shows it worked. */
const CHECKS: Record<Feature, (context: Context) => Promise<void>> = {
  async "plain chat"({ client, model, provider }) {
    const completion = await client.chat.completions.create({ model, messages: [USER] });
    const text = completion.choices[0].message.content ?? "";
    if (provider === "echo") assert.match(text, /You said: Weather in Lisbon\?/);
    else assert.equal(text, "Hello from the fake upstream.");
    assert.ok(completion.usage !== undefined && completion.usage.total_tokens > 0);
  },
  async stream({ client, model, provider }) {
    const stream = await client.chat.completions.create({
      model,
      messages: [USER],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let finishReason: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      finishReason = chunk.choices[0]?.finish_reason ?? finishReason;
      usage = chunk.usage ?? usage;
    }
    if (provider === "echo") assert.match(text, /You said: Weather in Lisbon\?/);
    else assert.equal(text, "Hello from the fake upstream.");
    assert.equal(finishReason, "stop");
    assert.ok(usage !== undefined && usage !== null && usage.completion_tokens > 0);
  },
  async "tool call"({ client, upstream, model }) {
    upstream.script({ toolCalls: [LISBON] });
    const completion = await client.chat.completions.create({ model, messages: [USER], tools: [WEATHER] });
    assert.equal(completion.choices[0].finish_reason, "tool_calls");
    assert.deepEqual(toolCalls(completion.choices[0].message.tool_calls), [LISBON]);
  },
  async "tool call, streamed"({ client, upstream, model }) {
    upstream.script({ toolCalls: [LISBON] });
    const stream = await client.chat.completions.create({
      model,
      messages: [USER],
      tools: [WEATHER],
      stream: true,
    });
    assert.deepEqual(await streamedToolCalls(stream), { calls: [LISBON], finishReason: "tool_calls" });
  },
  async "tool-result round trip"({ client, upstream, model, provider }) {
    await client.chat.completions.create({
      model,
      tools: [WEATHER],
      messages: [
        USER,
        {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: LISBON.id, type: "function", function: { name: "weather", arguments: LISBON.arguments } },
          ],
        },
        { role: "tool", tool_call_id: LISBON.id, content: '{"celsius":21}' },
      ],
    });
    const sent = upstream.requests.at(-1)?.body as { messages: Record<string, unknown>[] };
    if (provider === "anthropic") {
      const last = sent.messages.at(-1);
      assert.ok(last !== undefined, "the conversation reached the upstream");
      const answer = (last.content as Record<string, unknown>[])[0];
      assert.equal(answer.type, "tool_result");
      assert.equal(answer.tool_use_id, LISBON.id);
    } else {
      assert.deepEqual(sent.messages.at(-1), {
        role: "tool",
        tool_call_id: LISBON.id,
        content: '{"celsius":21}',
      });
    }
  },
  async "parallel tool calls"({ client, upstream, model }) {
    upstream.script({ toolCalls: [LISBON, PORTO] });
    const completion = await client.chat.completions.create({
      model,
      messages: [{ role: "user", content: "Weather in Lisbon and Porto?" }],
      tools: [WEATHER],
      parallel_tool_calls: true,
    });
    assert.deepEqual(toolCalls(completion.choices[0].message.tool_calls), [LISBON, PORTO]);
  },
  async "json_schema output"({ client, upstream, model }) {
    upstream.script({ deltas: ['{"city":"Lisbon"}'] });
    const completion = await client.chat.completions.create({
      model,
      messages: [{ role: "user", content: "Which city?" }],
      response_format: {
        type: "json_schema",
        json_schema: {
          name: "answer",
          strict: true,
          schema: {
            type: "object",
            properties: { city: { type: "string" } },
            required: ["city"],
            additionalProperties: false,
          },
        },
      },
    });
    assert.deepEqual(JSON.parse(completion.choices[0].message.content ?? ""), { city: "Lisbon" });
  },
  async "image part"({ client, upstream, model, provider }) {
    await client.chat.completions.create({
      model,
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "What is this?" },
            { type: "image_url", image_url: { url: IMAGE_URL } },
          ],
        },
      ],
    });
    const sent = upstream.requests.at(-1)?.body as { messages: { content: Record<string, unknown>[] }[] };
    const image = sent.messages[0].content[1];
    if (provider === "anthropic") {
      assert.deepEqual(image.source, { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" });
    } else {
      assert.deepEqual(image, { type: "image_url", image_url: { url: IMAGE_URL } });
    }
  },
  async "extra parameters"({ client, upstream, model }) {
    const extra = { top_k: 20, repetition_penalty: 1.1, chat_template_kwargs: { enable_thinking: false } };
    await client.chat.completions.create({
      model,
      messages: [USER],
      ...extra,
    } as OpenAI.ChatCompletionCreateParamsNonStreaming);
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
  async "n > 1"({ client, model }) {
    const completion = await client.chat.completions.create({ model, messages: [USER], n: 2 });
    assert.deepEqual(
      completion.choices.map((choice) => choice.index),
      [0, 1],
    );
  },
  async logprobs({ client, upstream, model }) {
    await client.chat.completions.create({ model, messages: [USER], logprobs: true, top_logprobs: 2 });
    const sent = upstream.requests.at(-1)?.body ?? {};
    assert.deepEqual([sent.logprobs, sent.top_logprobs], [true, 2]);
  },
  async embeddings({ client, model, provider }) {
    // An embedding model of the same provider: the chat model's name says which provider.
    const embeddingModel = provider === "echo" ? "echo" : `${model.split(":")[0]}:text-embedding-3-small`;
    const answer = await client.embeddings.create({ model: embeddingModel, input: ["one", "two"] });
    assert.equal(answer.data.length, 2);
    assert.ok(answer.data.every((item) => item.embedding.length > 0));
  },
};

for (const feature of FEATURES) {
  test(`openai client, ${feature}: ${PROVIDERS.map((provider) => `${provider} ${MATRIX[feature][provider] === true ? "works" : "is a 400"}`).join(", ")}`, async (t) => {
    const { address, upstream } = await startChatTestApp(t, { withOllama: true });
    const client = new OpenAI({ baseURL: `${address}/v1`, apiKey: "anything", maxRetries: 0 });
    await checkMatrixRow({
      feature,
      row: MATRIX[feature],
      upstream,
      run: (provider, model) => CHECKS[feature]({ client, upstream, model, provider }),
      assertRefused(error, expected, provider) {
        assert.ok(error instanceof OpenAI.APIError, `${provider}: ${String(error)}`);
        assert.equal(error.status, 400, `${provider}: ${error.message}`);
        assert.ok(
          namesParam(error.param, expected),
          `${provider}: param ${String(error.param)}, expected ${expected}`,
        );
      },
    });
  });
}

function toolCalls(calls: OpenAI.ChatCompletionMessageToolCall[] | undefined) {
  return (calls ?? []).map((call) =>
    call.type === "function"
      ? { id: call.id, name: call.function.name, arguments: call.function.arguments }
      : call,
  );
}

async function streamedToolCalls(stream: AsyncIterable<OpenAI.ChatCompletionChunk>) {
  const calls: { id?: string; name?: string; arguments: string }[] = [];
  let finishReason: string | null = null;
  for await (const chunk of stream) {
    for (const call of chunk.choices[0]?.delta.tool_calls ?? []) {
      calls[call.index] ??= { arguments: "" };
      calls[call.index].id ??= call.id;
      calls[call.index].name ??= call.function?.name;
      calls[call.index].arguments += call.function?.arguments ?? "";
    }
    finishReason = chunk.choices[0]?.finish_reason ?? finishReason;
  }
  return { calls, finishReason };
}
