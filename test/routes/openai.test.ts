import assert from "node:assert/strict";
import { test } from "node:test";
import OpenAI from "openai";
import { startChatTestApp } from "../support/chat-test-app.ts";

async function openAIClient(
  t: Parameters<typeof startChatTestApp>[0],
  environment: Record<string, string> = {},
) {
  const started = await startChatTestApp(t, { environment });
  // Its own retries off, so each test sees exactly what the service answered.
  const client = new OpenAI({ baseURL: `${started.address}/v1`, apiKey: "unused", maxRetries: 0 });
  return { ...started, client };
}

test("the official openai package: create returns the reply, the usage and the finish reason", async (t) => {
  const { client, upstream } = await openAIClient(t);
  upstream.script({ deltas: ["Hello", ",\nworld"] });
  const completion = await client.chat.completions.create({
    model: "openai:fake-model",
    messages: [
      { role: "system", content: "Be brief." },
      { role: "user", content: "hi" },
    ],
    temperature: 0.2,
    max_tokens: 50,
    stop: ["END"],
  });
  assert.equal(completion.object, "chat.completion");
  assert.equal(completion.choices[0].message.content, "Hello,\nworld");
  assert.equal(completion.choices[0].finish_reason, "stop");
  assert.deepEqual(completion.usage, { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 });
  const sent = upstream.requests[0].body;
  assert.equal(sent.model, "fake-model");
  assert.equal(sent.temperature, 0.2);
  assert.equal(sent.max_tokens, 50);
  assert.deepEqual(sent.stop, ["END"]);
});

test("the official openai package: a stream with include_usage rebuilds the reply and reports usage", async (t) => {
  const { client, upstream } = await openAIClient(t);
  upstream.script({ deltas: ["one\n", "two ", "three"] });
  const stream = await client.chat.completions.create({
    model: "fake-model",
    messages: [{ role: "user", content: "hi" }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = "";
  let role: string | undefined;
  let finishReason: string | null | undefined;
  let usage: OpenAI.CompletionUsage | null | undefined;
  for await (const chunk of stream) {
    assert.equal(chunk.object, "chat.completion.chunk");
    role ??= chunk.choices[0]?.delta.role;
    text += chunk.choices[0]?.delta.content ?? "";
    finishReason = chunk.choices[0]?.finish_reason ?? finishReason;
    if (chunk.usage) usage = chunk.usage;
  }
  assert.equal(role, "assistant");
  assert.equal(text, "one\ntwo three");
  assert.equal(finishReason, "stop");
  assert.deepEqual(usage, { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 });
});

test("the official openai package: models.list shows the configured models", async (t) => {
  const { client } = await openAIClient(t);
  const ids = [];
  for await (const model of client.models.list()) ids.push(model.id);
  assert.deepEqual(ids, ["openai:fake-model", "echo"]);
});

test("the official openai package raises APIError on upstream failure, before and during a stream", async (t) => {
  const { client, upstream } = await openAIClient(t, { LLM_MAX_RETRIES: "0" });
  upstream.script({ status: 500 });
  await assert.rejects(
    client.chat.completions.create({ model: "fake-model", messages: [{ role: "user", content: "hi" }] }),
    (error: unknown) => error instanceof OpenAI.APIError && error.status === 502,
  );

  upstream.script({ deltas: ["partial", "more"], dieAfter: 1, chunkDelayMs: 50 });
  const stream = await client.chat.completions.create({
    model: "fake-model",
    messages: [{ role: "user", content: "hi" }],
    stream: true,
  });
  let text = "";
  await assert.rejects(
    (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    })(),
    (error: unknown) => error instanceof OpenAI.APIError && /upstream|model provider/i.test(error.message),
  );
  assert.equal(text, "partial");
});

test("the official openai package: an unknown provider is a 400 BadRequestError naming the model", async (t) => {
  const { client, upstream } = await openAIClient(t);
  await assert.rejects(
    client.chat.completions.create({ model: "nosuch:model-x", messages: [{ role: "user", content: "hi" }] }),
    (error: unknown) =>
      error instanceof OpenAI.BadRequestError &&
      error.message.includes("nosuch:model-x") &&
      error.param === "model",
  );
  assert.equal(upstream.requests.length, 0);
});
