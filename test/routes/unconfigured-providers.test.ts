import assert from "node:assert/strict";
import { test } from "node:test";
import { buildTestApp } from "../support/build-test-app.ts";
import { startRecordingServer } from "../support/recording-server.ts";

const ENDPOINTS = [
  ["/chat", (model: string) => ({ model, message: "hi" })],
  ["/chat/stream", (model: string) => ({ model, message: "hi" })],
  ["/chat/stream-text", (model: string) => ({ model, message: "hi" })],
  ["/v1/chat/completions", (model: string) => ({ model, messages: [{ role: "user", content: "hi" }] })],
  [
    "/v1/chat/completions",
    (model: string) => ({ model, stream: true, messages: [{ role: "user", content: "hi" }] }),
  ],
] as const;

test("a canary at Ollama's well-known address receives nothing when Ollama is not configured", async (t) => {
  // Plays an Ollama someone runs on this host, which nobody told the service about.
  const canary = await startRecordingServer(() => ({ body: { leaked: true } }), 11434).catch(
    (error: Error) => {
      throw new Error(`this test needs 127.0.0.1:11434 free to play Ollama: ${error.message}`);
    },
  );
  t.after(() => canary.close());
  const { app } = await buildTestApp();
  t.after(() => app.close());

  for (const [path, body] of ENDPOINTS) {
    const response = await app.inject({ method: "POST", url: path, payload: body("ollama:anything") });
    assert.equal(response.statusCode, 400, `${path}: ${response.body}`);
    const error = response.json().error;
    assert.equal(error.code, path.startsWith("/v1/") ? "unknown_model" : "UNKNOWN_MODEL");
    assert.match(error.message, /OLLAMA_BASE_URL/);
  }
  assert.equal(canary.requests.length, 0);
});

test("openai:* and anthropic:* without a key or base URL are 400s naming what to set, before any call", async (t) => {
  const { app } = await buildTestApp();
  t.after(() => app.close());
  for (const [model, setting] of [
    ["openai:gpt-4o-mini", /OPENAI_API_KEY or OPENAI_BASE_URL/],
    ["anthropic:claude-sonnet-4-5", /ANTHROPIC_API_KEY or ANTHROPIC_BASE_URL/],
  ] as const) {
    for (const [path, body] of ENDPOINTS) {
      const response = await app.inject({ method: "POST", url: path, payload: body(model) });
      assert.equal(response.statusCode, 400, `${path} ${model}: ${response.body}`);
      assert.match(readJsonBody(response.body).error.message, setting);
    }
  }
  // The echo model is always there.
  assert.equal(
    (await app.inject({ method: "POST", url: "/chat", payload: { message: "hi" } })).statusCode,
    200,
  );
});

function readJsonBody(body: string) {
  return JSON.parse(body) as { error: { message: string } };
}
