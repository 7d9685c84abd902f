import assert from "node:assert/strict";
import { test } from "node:test";
import { startChatTestApp } from "../support/chat-test-app.ts";
import { readJson } from "../support/read-json.ts";

test("POST /chat answers reply, model, usage, finish_reason and request_id", async (t) => {
  const { post, upstream } = await startChatTestApp(t);
  upstream.script({ deltas: ["Hi", " there"] });
  const response = await post(
    "/chat",
    { message: "hello", system: "Be kind.", temperature: 0.5, max_tokens: 20 },
    {
      headers: { "content-type": "application/json", "x-request-id": "chat-1" },
    },
  );
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), {
    reply: "Hi there",
    model: "openai:fake-model",
    usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 },
    finish_reason: "stop",
    request_id: "chat-1",
  });
  const sent = upstream.requests[0].body as { messages: unknown; temperature: number; max_tokens: number };
  assert.deepEqual(sent.messages, [
    { role: "system", content: "Be kind." },
    { role: "user", content: "hello" },
  ]);
  assert.equal(sent.temperature, 0.5);
  assert.equal(sent.max_tokens, 20);
});

test("a history in messages is sent as is, with message appended as the last user turn", async (t) => {
  const { post, upstream } = await startChatTestApp(t);
  const response = await post("/chat", {
    messages: [
      { role: "user", content: "first" },
      { role: "assistant", content: "answer" },
    ],
    message: "second",
  });
  assert.equal(response.status, 200);
  assert.deepEqual((upstream.requests[0].body as { messages: unknown }).messages, [
    { role: "user", content: "first" },
    { role: "assistant", content: "answer" },
    { role: "user", content: "second" },
  ]);
});

test("a bare model name uses the default model's provider; an unknown provider is a 400 naming it", async (t) => {
  const { post, upstream } = await startChatTestApp(t);
  const bare = await post("/chat", { message: "hi", model: "other-model" });
  assert.equal((await readJson(bare)).model, "openai:other-model");
  assert.equal(upstream.requests[0].body.model, "other-model");

  const unknown = await post("/chat", { message: "hi", model: "mystery:model-9" });
  assert.equal(unknown.status, 400);
  const error = (await readJson(unknown)).error;
  assert.equal(error.code, "UNKNOWN_MODEL");
  assert.match(error.message, /mystery:model-9/);
  assert.equal(upstream.requests.length, 1);
});

test("MAX_MESSAGE_CHARS and MAX_MESSAGES are 400s before any upstream call, on every endpoint", async (t) => {
  const { post, upstream } = await startChatTestApp(t, {
    environment: { MAX_MESSAGE_CHARS: "10", MAX_MESSAGES: "2" },
  });
  const tooLong = { message: "x".repeat(11) };
  const tooMany = {
    messages: [
      { role: "user", content: "a" },
      { role: "assistant", content: "b" },
      { role: "user", content: "c" },
    ],
  };
  for (const path of ["/chat", "/chat/stream", "/chat/stream-text"]) {
    for (const body of [tooLong, tooMany, {}]) {
      const response = await post(path, body);
      assert.equal(response.status, 400, `${path} ${JSON.stringify(body)}`);
      assert.equal((await readJson(response)).error.code, "VALIDATION_FAILED");
    }
  }
  const openAI = await post("/v1/chat/completions", { stream: true, messages: tooMany.messages });
  assert.equal(openAI.status, 400);
  assert.equal((await readJson(openAI)).error.type, "invalid_request_error");
  assert.equal(upstream.requests.length, 0);
});

test("MAX_MESSAGES counts every role: system, developer and assistant messages too", async (t) => {
  const { post, upstream } = await startChatTestApp(t, { environment: { MAX_MESSAGES: "3" } });
  const systems = Array.from({ length: 3 }, () => ({ role: "system", content: "s" }));
  for (const [path, body] of [
    ["/chat", { messages: systems, message: "hi" }],
    ["/chat/stream", { system: "s", messages: systems.slice(0, 2), message: "hi" }],
    ["/v1/chat/completions", { messages: [...systems, { role: "user", content: "hi" }] }],
    [
      "/v1/chat/completions",
      {
        stream: true,
        messages: [
          { role: "developer", content: "d" },
          ...systems.slice(0, 2),
          { role: "user", content: "hi" },
        ],
      },
    ],
  ] as const) {
    const response = await post(path, body);
    assert.equal(response.status, 400, `${path} ${JSON.stringify(body)}`);
    const error = (await readJson(response)).error;
    assert.match(error.message, /4 messages/);
  }
  assert.equal(upstream.requests.length, 0);
  // Three in all, of any role, are still accepted.
  assert.equal((await post("/chat", { messages: systems.slice(0, 2), message: "hi" })).status, 200);
});

test("MAX_INPUT_CHARS caps the characters of every message together, before any upstream call", async (t) => {
  const { post, upstream } = await startChatTestApp(t, {
    environment: { MAX_INPUT_CHARS: "20", MAX_MESSAGE_CHARS: "15" },
  });
  const bodies = [
    ["/chat", { system: "s".repeat(10), message: "u".repeat(11) }],
    [
      "/chat/stream-text",
      { messages: [{ role: "assistant", content: "a".repeat(15) }], message: "u".repeat(6) },
    ],
    [
      "/v1/chat/completions",
      {
        messages: [
          { role: "system", content: "s".repeat(15) },
          { role: "user", content: "u".repeat(6) },
        ],
      },
    ],
  ] as const;
  for (const [path, body] of bodies) {
    const response = await post(path, body);
    assert.equal(response.status, 400, `${path} ${JSON.stringify(body)}`);
    assert.match((await readJson(response)).error.message, /21 characters in all; at most 20/);
  }
  assert.equal(upstream.requests.length, 0);
  assert.equal((await post("/chat", { system: "s".repeat(10), message: "u".repeat(10) })).status, 200);
});

test("GET /v1/models lists the default model and echo", async (t) => {
  const { address } = await startChatTestApp(t);
  const response = await fetch(`${address}/v1/models`);
  const body = (await response.json()) as { object: string; data: { id: string; owned_by: string }[] };
  assert.equal(body.object, "list");
  assert.deepEqual(
    body.data.map((model) => [model.id, model.owned_by]),
    [
      ["openai:fake-model", "openai"],
      ["echo", "echo"],
    ],
  );
});
