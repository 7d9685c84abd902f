// POST /v1/embeddings against the real app, called by the official openai client: relayed to an
// OpenAI-compatible upstream (the fake one), through the AI SDK, and on the built-in echo model.
import assert from "node:assert/strict";
import { test } from "node:test";
import OpenAI from "openai";
import { createProviders } from "../../src/llm/create-providers.ts";
import type { LlmCallEnd, LlmCallObserver, LlmCallStart } from "../../src/llm/llm-call-observer.ts";
import { createModelRegistry } from "../../src/llm/model-registry.ts";
import { buildTestApp } from "../support/build-test-app.ts";
import { startChatTestApp } from "../support/chat-test-app.ts";
import { fakeEmbedding, startFakeLlmUpstream } from "../support/fake-llm-upstream.ts";
import { sampleValue } from "../support/prometheus-text.ts";
import { testConfig } from "../support/test-config.ts";
import { waitFor } from "../support/wait-for.ts";

type Test = Parameters<typeof startChatTestApp>[0];

function recordingObserver() {
  const calls: { start: LlmCallStart; retries: string[]; end?: LlmCallEnd }[] = [];
  const observer: LlmCallObserver = {
    start(start) {
      const call = { start, retries: [] as string[], end: undefined as LlmCallEnd | undefined };
      calls.push(call);
      return {
        chunk() {},
        retry: (reason) => call.retries.push(reason),
        end: (result) => {
          assert.equal(call.end, undefined, "end is called once");
          call.end = result;
        },
        upstreamHeaders: () => ({}),
      };
    },
  };
  return { observer, calls };
}

/** The real app relaying `openai` and `ollama` to the fake upstream; the openai client on top. */
async function relayApp(t: Test, environment: Record<string, string> = {}) {
  const { observer, calls } = recordingObserver();
  const started = await startChatTestApp(t, {
    environment: { LLM_MAX_RETRIES: "2", ...environment },
    llmCallObserver: observer,
  });
  // Its own retries off, so each test sees exactly what the service answered.
  const client = new OpenAI({ baseURL: `${started.address}/v1`, apiKey: "unused", maxRetries: 0 });
  return { ...started, client, calls };
}

/** The same body sent straight to the fake upstream: what the relay must hand back. */
async function straightFromUpstream(baseUrl: string, body: object): Promise<string> {
  const response = await fetch(`${baseUrl}/embeddings`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return response.text();
}

function decodeFloat32(base64: string): number[] {
  const bytes = Buffer.from(base64, "base64");
  return Array.from({ length: bytes.length / 4 }, (_, index) => bytes.readFloatLE(index * 4));
}

async function badRequest(promise: Promise<unknown>): Promise<InstanceType<typeof OpenAI.BadRequestError>> {
  const error = await promise.then(
    () => assert.fail("expected a 400"),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof OpenAI.BadRequestError, String(error));
  return error;
}

test("relay, float: the upstream gets the client's body with only model changed, and its vectors come back", async (t) => {
  const { client, upstream, calls } = await relayApp(t);
  const result = await client.embeddings.create({
    model: "openai:text-embedding-3-small",
    input: ["first", "second"],
    encoding_format: "float",
  });
  assert.equal(result.object, "list");
  assert.deepEqual(
    result.data.map((item) => item.embedding),
    [fakeEmbedding(0, 3), fakeEmbedding(1, 3)],
  );
  assert.equal(result.model, "text-embedding-3-small");
  assert.deepEqual(result.usage, { prompt_tokens: 4, total_tokens: 4 });

  const sent = upstream.requests[0];
  assert.equal(sent.path, "/v1/embeddings");
  assert.equal(sent.headers.authorization, "Bearer sk-test-openai");
  assert.deepEqual(sent.body, {
    model: "text-embedding-3-small",
    input: ["first", "second"],
    encoding_format: "float",
  });
  assert.equal(calls[0].start.kind, "openai_embeddings");
  assert.deepEqual(calls[0].start.input, ["first", "second"]);
  assert.deepEqual(calls[0].end, {
    outcome: "success",
    responseModel: "text-embedding-3-small",
    inputTokens: 4,
    output: "",
  });
});

test("relay, base64: the client's default encoding is relayed, the answer byte for byte, and it decodes", async (t) => {
  const { client, upstream, post } = await relayApp(t);
  // The openai client asks for base64 unless told otherwise, and decodes it to floats itself.
  const decoded = await client.embeddings.create({ model: "text-embedding-3-small", input: "hello" });
  assert.equal(upstream.requests[0].body.encoding_format, "base64");
  assert.deepEqual(decoded.data[0].embedding, fakeEmbedding(0, 3));

  const body = { model: "text-embedding-3-small", input: "hello", encoding_format: "base64", dimensions: 4 };
  const response = await post("/v1/embeddings", body);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "application/json; charset=utf-8");
  const relayed = await response.text();
  assert.equal(relayed, await straightFromUpstream(upstream.baseUrl, body));
  assert.deepEqual(decodeFloat32(JSON.parse(relayed).data[0].embedding), fakeEmbedding(0, 4));
});

test("relay: vLLM's extra fields, dimensions, user and token-id inputs reach the upstream as sent", async (t) => {
  const { client, upstream } = await relayApp(t);
  const extras = { truncate_prompt_tokens: 8, additional_data: { tenant: "a" } };
  const result = await client.embeddings.create({
    model: "openai:bge-m3",
    input: [
      [1, 2, 3],
      [4, 5],
    ],
    encoding_format: "float",
    dimensions: 2,
    user: "user-1",
    ...extras,
  } as OpenAI.EmbeddingCreateParams);
  assert.equal(result.data.length, 2);
  assert.deepEqual(upstream.requests[0].body, {
    model: "bge-m3",
    input: [
      [1, 2, 3],
      [4, 5],
    ],
    encoding_format: "float",
    dimensions: 2,
    user: "user-1",
    ...extras,
  });
});

test("relay: a 429 is retried before the answer, honouring retry-after-ms", async (t) => {
  const { client, upstream, calls } = await relayApp(t);
  upstream.script({ status: 429, headers: { "retry-after-ms": "20" } }, {});
  const result = await client.embeddings.create({
    model: "fake-embed",
    input: "x",
    encoding_format: "float",
  });
  assert.deepEqual(result.data[0].embedding, fakeEmbedding(0, 3));
  assert.equal(upstream.requests.length, 2);
  assert.deepEqual(calls[0].retries, ["rate_limited"]);
  assert.equal(calls[0].end?.outcome, "success");
});

test("relay: an upstream 5xx is mapped as for chat (502 in OpenAI's shape, no upstream text)", async (t) => {
  const { client, upstream, calls } = await relayApp(t, { LLM_MAX_RETRIES: "0" });
  upstream.script({ status: 500, errorMessage: "secret internal detail" });
  const error = await client.embeddings.create({ model: "fake-embed", input: "x" }).then(
    () => assert.fail("expected a 502"),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof OpenAI.InternalServerError);
  assert.equal(error.status, 502);
  assert.equal(error.code, "upstream_error");
  assert.equal(error.type, "api_error");
  assert.doesNotMatch(JSON.stringify(error.error), /secret internal detail/);
  assert.deepEqual(calls[0].end, { outcome: "error", errorType: "UPSTREAM_ERROR", output: "" });
});

test("relay: LLM_TIMEOUT_MS bounds the wait for the answer (504)", async (t) => {
  const { post, upstream } = await relayApp(t, { LLM_TIMEOUT_MS: "100", LLM_MAX_RETRIES: "0" });
  upstream.script({ firstChunkDelayMs: 2000 });
  const response = await post("/v1/embeddings", { input: "x" });
  assert.equal(response.status, 504);
  assert.equal(((await response.json()) as { error: { code: string } }).error.code, "upstream_timeout");
});

test("a client that disconnects aborts the upstream call within 1 s", async (t) => {
  const { address, upstream, calls } = await relayApp(t);
  upstream.script({ firstChunkDelayMs: 10_000 });
  const controller = new AbortController();
  const pending = fetch(`${address}/v1/embeddings`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ input: "x" }),
    signal: controller.signal,
  }).catch(() => undefined);
  await waitFor("the upstream call", () => upstream.requests.length === 1, { timeoutMs: 5000 });
  const abortedAt = Date.now();
  controller.abort();
  await pending;
  const aborted = await upstream.waitForAbort(0, 1000);
  assert.ok((aborted.abortedAt ?? 0) - abortedAt < 1000);
  await waitFor("the observation to end", () => calls[0]?.end, { timeoutMs: 1000 });
  assert.deepEqual(calls[0].end, { outcome: "client_disconnected", output: "" });
});

test("limits: too many inputs or too long a text is a 400 naming input, before any upstream call", async (t) => {
  const { client, upstream, calls } = await relayApp(t, {
    EMBEDDINGS_MAX_INPUTS: "3",
    MAX_MESSAGE_CHARS: "10",
  });
  const tooMany = await badRequest(client.embeddings.create({ model: "m", input: ["a", "b", "c", "d"] }));
  assert.equal(tooMany.param, "input");
  assert.match(tooMany.message, /4 inputs; at most 3/);
  const tooManyTokenArrays = await badRequest(
    client.embeddings.create({ model: "m", input: [[1], [2], [3], [4]] }),
  );
  assert.equal(tooManyTokenArrays.param, "input");
  const tooLong = await badRequest(
    client.embeddings.create({ model: "m", input: ["short", "x".repeat(11)] }),
  );
  assert.equal(tooLong.param, "input");
  assert.match(tooLong.message, /input\[1\] holds 11 characters; at most 10/);
  const empty = await badRequest(client.embeddings.create({ model: "m", input: "" }));
  assert.equal(empty.param, "input");
  // Exactly at the limits is fine.
  await client.embeddings.create({ model: "m", input: ["a", "b", "x".repeat(10)] });
  assert.equal(upstream.requests.length, 1);
  assert.equal(calls.length, 1, "refusals are not model calls");
});

test("anthropic has no embeddings: a 400 naming model, and nothing is sent", async (t) => {
  const { client, upstream } = await relayApp(t);
  const error = await badRequest(
    client.embeddings.create({ model: "anthropic:claude-sonnet-4-5", input: "x" }),
  );
  assert.equal(error.param, "model");
  assert.match(error.message, /anthropic provider offers none/);
  assert.equal(upstream.requests.length, 0);
});

test("echo: deterministic, L2-normalised, 256 dimensions unless asked, and base64 decodes to its floats", async (t) => {
  const { client, post } = await relayApp(t);
  const first = await client.embeddings.create({
    model: "echo",
    input: ["the cat sat", "the cat sat", "a dog ran"],
    encoding_format: "float",
  });
  const [one, same, other] = first.data.map((item) => item.embedding);
  assert.equal(one.length, 256);
  assert.deepEqual(one, same);
  assert.notDeepEqual(one, other);
  assert.ok(Math.abs(Math.hypot(...one) - 1) < 1e-9);
  assert.equal(first.model, "echo");
  assert.deepEqual(first.usage, { prompt_tokens: 9, total_tokens: 9 });
  const again = await client.embeddings.create({
    model: "echo",
    input: "the cat sat",
    encoding_format: "float",
  });
  assert.deepEqual(again.data[0].embedding, one);

  const small = await client.embeddings.create({
    model: "echo",
    input: "the cat sat",
    dimensions: 16,
    encoding_format: "float",
  });
  assert.equal(small.data[0].embedding.length, 16);

  const response = await post("/v1/embeddings", {
    model: "echo",
    input: "the cat sat",
    dimensions: 16,
    encoding_format: "base64",
  });
  const body = (await response.json()) as { data: { embedding: string }[] };
  assert.equal(typeof body.data[0].embedding, "string");
  assert.deepEqual(decodeFloat32(body.data[0].embedding), small.data[0].embedding.map(Math.fround));
  // The openai client's own default (base64) decodes to the same floats.
  const viaClient = await client.embeddings.create({ model: "echo", input: "the cat sat", dimensions: 16 });
  assert.deepEqual(viaClient.data[0].embedding, small.data[0].embedding.map(Math.fround));
});

test("echo is the default embedding model when LLM_MODEL is echo, with no network at all", async (t) => {
  const { app } = await buildTestApp({ environment: { LLM_MODEL: "echo" } });
  t.after(() => app.close());
  const response = await app.inject({ method: "POST", url: "/v1/embeddings", payload: { input: "hello" } });
  assert.equal(response.statusCode, 200);
  const body = response.json() as { model: string; data: { embedding: number[] }[] };
  assert.equal(body.model, "echo");
  assert.equal(body.data[0].embedding.length, 256);
});

test("through the AI SDK: a field it cannot carry, or token ids, is a 400 naming it; dimensions too large too", async (t) => {
  const { client } = await relayApp(t);
  const extra = await badRequest(
    client.embeddings.create({
      model: "echo",
      input: "x",
      truncate_prompt_tokens: 8,
    } as OpenAI.EmbeddingCreateParams),
  );
  assert.equal(extra.param, "truncate_prompt_tokens");
  const tokens = await badRequest(client.embeddings.create({ model: "echo", input: [1, 2, 3] }));
  assert.equal(tokens.param, "input");
  const dimensions = await badRequest(
    client.embeddings.create({ model: "echo", input: "x", dimensions: 5000 }),
  );
  assert.equal(dimensions.param, "dimensions");
});

test("through the AI SDK's openai embedding model (no relay): asked for floats, answered in the client's encoding", async (t) => {
  const upstream = await startFakeLlmUpstream();
  const environment = {
    LLM_MODEL: "openai:fake-model",
    OPENAI_BASE_URL: upstream.baseUrl,
    OPENAI_API_KEY: "sk-sdk",
  };
  // A registry without Chat Completions upstreams: every openai model goes through the AI SDK.
  const registry = createModelRegistry({
    defaultModel: environment.LLM_MODEL,
    providers: createProviders({ config: testConfig(environment) }),
  });
  const { app } = await buildTestApp({ environment, modelRegistry: registry });
  const address = await app.listen({ port: 0, host: "127.0.0.1" });
  t.after(async () => {
    await upstream.close();
    await app.close();
  });
  const client = new OpenAI({ baseURL: `${address}/v1`, apiKey: "unused", maxRetries: 0 });

  const result = await client.embeddings.create({
    model: "text-embedding-3-small",
    input: ["a", "b"],
    dimensions: 2,
    user: "user-1",
  });
  // The client asked for base64; the AI SDK asks for floats, and the service encodes them.
  assert.deepEqual(upstream.requests[0].body, {
    model: "text-embedding-3-small",
    input: ["a", "b"],
    encoding_format: "float",
    dimensions: 2,
    user: "user-1",
  });
  assert.deepEqual(
    result.data.map((item) => item.embedding),
    [fakeEmbedding(0, 2), fakeEmbedding(1, 2)],
  );
  assert.equal(result.model, "text-embedding-3-small");
  assert.deepEqual(result.usage, { prompt_tokens: 4, total_tokens: 4 });

  upstream.script({ status: 503 }, {});
  const retried = await client.embeddings.create({ model: "text-embedding-3-small", input: "c" });
  assert.equal(retried.data.length, 1);
  assert.equal(upstream.requests.length, 3, "the 503 was retried by the service");
});

test("metrics: embeddings calls are gen_ai_operation_name=embeddings, with input tokens and no output tokens", async (t) => {
  const { client, app } = await relayApp(t);
  await client.embeddings.create({ model: "echo", input: "one two three" });
  await client.embeddings.create({ model: "text-embedding-3-small", input: ["a", "b"] });
  const text = (await app.inject({ method: "GET", url: "/metrics" })).body;
  const embeddings = { gen_ai_operation_name: "embeddings" };
  assert.equal(sampleValue(text, "gen_ai_client_operation_duration_seconds_count", embeddings), 2);
  const input = { ...embeddings, gen_ai_token_type: "input" };
  assert.equal(sampleValue(text, "gen_ai_client_token_usage_count", input), 2);
  assert.equal(sampleValue(text, "gen_ai_client_token_usage_sum", input), 3 + 4);
  const echo = { ...input, gen_ai_provider_name: "echo", gen_ai_request_model: "echo" };
  assert.equal(sampleValue(text, "gen_ai_client_token_usage_sum", echo), 3);
  const output = { ...embeddings, gen_ai_token_type: "output" };
  assert.equal(sampleValue(text, "gen_ai_client_token_usage_count", output), 0);
  assert.equal(
    sampleValue(text, "gen_ai_client_operation_duration_seconds_count", { gen_ai_operation_name: "chat" }),
    0,
  );
});
