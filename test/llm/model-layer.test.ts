import assert from "node:assert/strict";
import { test } from "node:test";
import { APICallError } from "@ai-sdk/provider";
import { ConfigError } from "../../src/config.ts";
import { ServiceError } from "../../src/errors/service-error.ts";
import { formatSseData } from "../../src/http/sse-writer.ts";
import { createProviders } from "../../src/llm/create-providers.ts";
import { createEchoModel } from "../../src/llm/echo-model.ts";
import { createModelRegistry } from "../../src/llm/model-registry.ts";
import { planRetry } from "../../src/llm/plan-retry.ts";
import { retryAfterMs } from "../../src/llm/retry-after-ms.ts";
import { parseSse } from "../support/sse-parser.ts";
import { testConfig } from "../support/test-config.ts";

const userPrompt = (text: string) => [{ role: "user" as const, content: [{ type: "text" as const, text }] }];

test("the echo model streams its reply token by token with usage, and honours stop and max tokens", async () => {
  const model = createEchoModel({ modelId: "echo", delayMs: 0 });
  const { stream } = await model.doStream({ prompt: userPrompt("say it\ntwice") });
  const parts = [];
  for await (const part of stream) parts.push(part);
  const deltas = parts.flatMap((part) => (part.type === "text-delta" ? [part.delta] : []));
  assert.ok(deltas.length > 5);
  assert.match(deltas.join(""), /^This is the echo model.*You said: say it\ntwice$/s);
  const finish = parts.at(-1);
  assert.equal(finish?.type, "finish");
  assert.equal(finish?.type === "finish" && finish.usage.outputTokens.total, deltas.length);

  const limited = await model.doGenerate({ prompt: userPrompt("x"), maxOutputTokens: 3 });
  assert.equal(limited.finishReason.unified, "length");
  assert.deepEqual(limited.content, [{ type: "text", text: "This is the " }]);
  const stopped = await model.doGenerate({ prompt: userPrompt("x"), stopSequences: [" echo"] });
  assert.deepEqual(stopped.content, [{ type: "text", text: "This is the" }]);
});

test("the echo model stops streaming when aborted", async () => {
  const model = createEchoModel({ modelId: "echo", delayMs: 20 });
  const controller = new AbortController();
  const { stream } = await model.doStream({
    prompt: userPrompt("a b c d e f"),
    abortSignal: controller.signal,
  });
  const reader = stream.getReader();
  await reader.read();
  controller.abort(new Error("gone"));
  await assert.rejects(async () => {
    for (;;) if ((await reader.read()).done) break;
  });
});

test("the registry parses provider:model, keeps colons in model ids and refuses a bad LLM_MODEL", () => {
  const providers = createProviders({
    config: testConfig({ LLM_MODEL: "ollama:llama3.2", ANTHROPIC_API_KEY: "sk-test-anthropic" }),
  });
  const registry = createModelRegistry({ defaultModel: "ollama:llama3.2", providers });
  assert.equal(registry.defaultModel.provider, "ollama");
  assert.deepEqual(
    [registry.resolve("ollama:qwen2.5:7b")].map((model) => [model.provider, model.modelId, model.name]),
    [["ollama", "qwen2.5:7b", "ollama:qwen2.5:7b"]],
  );
  assert.equal(registry.resolve("mistral").name, "ollama:mistral");
  assert.equal(registry.resolve("echo").provider, "echo");
  assert.equal(registry.resolve("anthropic:claude-x").languageModel.provider, "anthropic");
  assert.throws(() => registry.resolve("openai:"), /names no model/);
  assert.throws(
    () => createModelRegistry({ defaultModel: "gpt-4o", providers }),
    (error: unknown) => error instanceof ConfigError && error.variable === "LLM_MODEL",
  );
});

test("only configured providers serve: the others are UNKNOWN_MODEL naming what to set, and LLM_MODEL must name one", () => {
  const registry = createModelRegistry({
    defaultModel: "echo",
    providers: createProviders({ config: testConfig() }),
  });
  for (const [model, setting] of [
    ["openai:gpt-4o-mini", "OPENAI_API_KEY or OPENAI_BASE_URL"],
    ["anthropic:claude-x", "ANTHROPIC_API_KEY or ANTHROPIC_BASE_URL"],
    ["ollama:anything", "OLLAMA_BASE_URL"],
  ]) {
    assert.throws(
      () => registry.resolve(model),
      (error: unknown) =>
        error instanceof ServiceError &&
        error.code === "UNKNOWN_MODEL" &&
        error.message.includes("not configured") &&
        error.message.includes(setting),
      model,
    );
  }
  assert.equal(registry.resolve("echo").name, "echo");
  // A key or an explicit base URL configures a provider; an ollama: LLM_MODEL asks for Ollama's default address.
  assert.equal(testConfig({ OPENAI_API_KEY: "sk-x" }).openaiBaseUrl, "https://api.openai.com/v1");
  assert.equal(testConfig({ OPENAI_BASE_URL: "http://gpu:8000/v1" }).openaiBaseUrl, "http://gpu:8000/v1");
  assert.equal(testConfig().openaiBaseUrl, undefined);
  assert.equal(testConfig().ollamaBaseUrl, undefined);
  assert.equal(testConfig({ LLM_MODEL: "ollama:llama3.2" }).ollamaBaseUrl, "http://127.0.0.1:11434/v1");
  assert.throws(
    () =>
      createModelRegistry({
        defaultModel: "openai:gpt-4o-mini",
        providers: createProviders({ config: testConfig() }),
      }),
    (error: unknown) =>
      error instanceof ConfigError && error.variable === "LLM_MODEL" && /OPENAI_API_KEY/.test(error.message),
  );
});

test("retry plans: which failures, how long, and never past LLM_MAX_RETRIES or a 60 s Retry-After", () => {
  const failure = (statusCode: number | undefined, headers: Record<string, string> = {}) =>
    new APICallError({
      message: "failed",
      url: "http://upstream",
      requestBodyValues: {},
      statusCode,
      responseHeaders: headers,
      isRetryable: statusCode === undefined,
    });
  const options = { maxRetries: 2, retryBaseDelayMs: 100, random: () => 1 };
  assert.deepEqual(planRetry(failure(429, { "retry-after": "3" }), 0, options), {
    reason: "rate_limited",
    delayMs: 3000,
  });
  assert.deepEqual(planRetry(failure(503, { "retry-after-ms": "250" }), 0, options), {
    reason: "server_error",
    delayMs: 250,
  });
  assert.deepEqual(planRetry(failure(500), 1, options), { reason: "server_error", delayMs: 200 });
  assert.equal(planRetry(failure(408), 0, options)?.reason, "upstream_timeout");
  assert.equal(planRetry(failure(409), 0, options)?.reason, "conflict");
  assert.equal(planRetry(failure(undefined), 0, options)?.reason, "connection_error");
  assert.equal(planRetry(failure(500), 2, options), undefined);
  assert.equal(planRetry(failure(400), 0, options), undefined);
  assert.equal(planRetry(failure(401), 0, options), undefined);
  assert.equal(planRetry(failure(429, { "retry-after": "61" }), 0, options), undefined);
  const jittered = planRetry(failure(502), 0, { maxRetries: 2, retryBaseDelayMs: 100, random: () => 0 });
  assert.equal(jittered?.delayMs, 50);
  assert.equal(retryAfterMs({ "retry-after": new Date(10_000).toUTCString() }, 4_000), 6_000);
});

test("formatSseData survives a spec-compliant parser for any text without CR", () => {
  for (const text of ["plain", "a\nb", "\n", "\n\n", " lead", "x\n data: y", "", "emoji 🎉\n"]) {
    if (text === "") continue;
    const { events } = parseSse(formatSseData(text));
    assert.equal(events.length, 1);
    assert.equal(events[0].data, text);
  }
  assert.equal(parseSse(formatSseData("a\r\nb")).events[0].data, "a\nb");
});
