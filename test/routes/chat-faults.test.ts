import assert from "node:assert/strict";
import { test } from "node:test";
import type { LlmCallEnd, LlmCallObserver } from "../../src/llm/llm-call-observer.ts";
import { startChatTestApp } from "../support/chat-test-app.ts";
import { readJson } from "../support/read-json.ts";
import { parseSse } from "../support/sse-parser.ts";

/** An observer that writes down what the chat layer tells it. */
function recordingObserver() {
  const calls: { retries: string[]; chunks: number; end?: LlmCallEnd; headersAsked: number }[] = [];
  const observer: LlmCallObserver = {
    start() {
      const call = {
        retries: [] as string[],
        chunks: 0,
        end: undefined as LlmCallEnd | undefined,
        headersAsked: 0,
      };
      calls.push(call);
      return {
        chunk: () => {
          call.chunks += 1;
        },
        retry: (reason) => call.retries.push(reason),
        end: (result) => {
          call.end = result;
        },
        upstreamHeaders: () => {
          call.headersAsked += 1;
          return { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" };
        },
      };
    },
  };
  return { observer, calls };
}

test("a 429 with Retry-After is retried after the wait, then succeeds", async (t) => {
  const { observer, calls } = recordingObserver();
  const { post, upstream } = await startChatTestApp(t, { llmCallObserver: observer });
  upstream.script({ status: 429, headers: { "retry-after": "1" } }, { deltas: ["fine"] });
  const started = Date.now();
  const response = await post("/chat", { message: "hi" });
  const elapsed = Date.now() - started;
  assert.equal(response.status, 200);
  assert.equal((await readJson(response)).reply, "fine");
  assert.equal(upstream.requests.length, 2);
  assert.ok(elapsed >= 950, `waited ${elapsed} ms`);
  assert.deepEqual(calls[0].retries, ["rate_limited"]);
  assert.equal(calls[0].end?.outcome, "success");
  // Every upstream request carries the observer's trace context.
  assert.equal(calls[0].headersAsked, 2);
  for (const request of upstream.requests) {
    assert.equal(request.headers.traceparent, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  }
});

test("retry-after-ms is honoured on a stream, before anything reached the client", async (t) => {
  const { post, upstream } = await startChatTestApp(t);
  upstream.script({ status: 503, headers: { "retry-after-ms": "300" } }, { deltas: ["ok"] });
  const started = Date.now();
  const response = await post("/chat/stream", { message: "hi" });
  const { events } = parseSse(await response.text());
  assert.ok(Date.now() - started >= 280);
  assert.equal(upstream.requests.length, 2);
  assert.deepEqual(
    events.filter((event) => event.event === "message").map((event) => event.data),
    ["ok", "[DONE]"],
  );
});

test("a persistent 500 is tried 1 + LLM_MAX_RETRIES times, then answered 502 without upstream detail", async (t) => {
  const { post, upstream } = await startChatTestApp(t, { environment: { LLM_MAX_RETRIES: "2" } });
  upstream.script({ status: 500, errorMessage: "stack at /srv/internal/secret.py" });
  const response = await post("/chat", { message: "hi" });
  assert.equal(response.status, 502);
  const body = await response.text();
  assert.equal(JSON.parse(body).error.code, "UPSTREAM_ERROR");
  assert.ok(!body.includes("/srv/internal"));
  assert.equal(upstream.requests.length, 3);
});

test("an upstream 429 that persists is a 429 with Retry-After", async (t) => {
  const { post, upstream } = await startChatTestApp(t, { environment: { LLM_MAX_RETRIES: "0" } });
  upstream.script({ status: 429, headers: { "retry-after": "7" } });
  const response = await post("/chat", { message: "hi" });
  assert.equal(response.status, 429);
  assert.equal(response.headers.get("retry-after"), "7");
  assert.equal((await readJson(response)).error.code, "UPSTREAM_RATE_LIMITED");
});

test("an upstream that asks for more than 60 s is not waited for", async (t) => {
  const { post, upstream } = await startChatTestApp(t);
  upstream.script({ status: 429, headers: { "retry-after": "120" } });
  const response = await post("/chat", { message: "hi" });
  assert.equal(response.status, 429);
  assert.equal(response.headers.get("retry-after"), "120");
  assert.equal(upstream.requests.length, 1);
});

test("an upstream Retry-After of 99999999 s reaches the client as at most 300, on every endpoint that can say it", async (t) => {
  const { post, upstream } = await startChatTestApp(t, { environment: { LLM_MAX_RETRIES: "0" } });
  for (const [path, body] of [
    ["/chat", { message: "hi" }],
    ["/v1/chat/completions", { messages: [{ role: "user", content: "hi" }] }],
    ["/v1/chat/completions", { stream: true, messages: [{ role: "user", content: "hi" }] }],
  ] as const) {
    upstream.script({ status: 429, headers: { "retry-after": "99999999" } });
    const response = await post(path, body);
    await response.arrayBuffer();
    assert.equal(response.status, 429, path);
    assert.equal(response.headers.get("retry-after"), "300", path);
  }
});

test("an upstream 400 or 404 about the request comes back as 400 or 404 with its reason, keys removed, on both providers", async (t) => {
  const { post, upstream } = await startChatTestApp(t);
  const secret = "sk-ant-api03-abcdefghijklmnop";
  for (const [model, status, expected, code] of [
    ["anthropic:claude-fake", 400, 400, "UPSTREAM_REJECTED_REQUEST"],
    ["anthropic:claude-fake", 404, 404, "UPSTREAM_NOT_FOUND"],
    ["openai:fake-model", 422, 400, "UPSTREAM_REJECTED_REQUEST"],
  ] as const) {
    upstream.script({
      status,
      errorMessage: `tools.0.input_schema: not valid (key ${secret}, Bearer abc.def)`,
    });
    const response = await post("/chat", { model, message: "hi" });
    assert.equal(response.status, expected, model);
    const error = (await readJson(response)).error;
    assert.equal(error.code, code);
    assert.match(error.message, /tools\.0\.input_schema: not valid/);
    assert.ok(!error.message.includes(secret) && !error.message.includes("abc.def"), error.message);
  }
});

test("an upstream auth failure is a 502 that says so, without the upstream's message", async (t) => {
  const { post, upstream } = await startChatTestApp(t);
  upstream.script({ status: 401, errorMessage: "Incorrect API key provided: sk-test-***enai" });
  const response = await post("/chat", { message: "hi" });
  assert.equal(response.status, 502);
  const body = await response.text();
  assert.equal(JSON.parse(body).error.code, "UPSTREAM_AUTH_FAILED");
  assert.ok(!body.includes("Incorrect API key") && !body.includes("sk-test"));
  assert.equal(upstream.requests.length, 1, "auth failures are not retried");
});

test("no first byte within LLM_TIMEOUT_MS is a 504, and the upstream call is aborted", async (t) => {
  const { post, upstream } = await startChatTestApp(t, { environment: { LLM_TIMEOUT_MS: "300" } });
  upstream.script({ firstChunkDelayMs: 3000 });
  const started = Date.now();
  const response = await post("/chat", { message: "hi" });
  assert.equal(response.status, 504);
  assert.equal((await readJson(response)).error.code, "UPSTREAM_TIMEOUT");
  assert.ok(Date.now() - started < 2500);
  await upstream.waitForAbort(0, 1000);
});

test("a stream whose upstream stalls past LLM_IDLE_TIMEOUT_MS ends with a timeout error frame", async (t) => {
  const { post, upstream } = await startChatTestApp(t, { environment: { LLM_IDLE_TIMEOUT_MS: "300" } });
  upstream.script({ deltas: ["a", "b", "c"], stallAfter: 1 });
  const response = await post("/chat/stream", { message: "hi" });
  const { events } = parseSse(await response.text());
  assert.deepEqual(
    events.map((event) => [event.event, event.data.split(":")[0]]),
    [
      ["meta", events[0].data],
      ["message", "a"],
      ["error", "UPSTREAM_TIMEOUT"],
      ["message", "[DONE]"],
    ],
  );
  assert.equal(upstream.requests.length, 1, "no retry once a delta reached the client");
  await upstream.waitForAbort(0, 1000);
});

test("mid-stream failures end every stream with its error frame, without retrying", async (t) => {
  const { post, upstream, app } = await startChatTestApp(t);
  // The pause lets "partial " reach us before the socket dies: a web stream that errors drops
  // what it had queued, as it would with a real provider.
  upstream.script({ deltas: ["partial ", "reply"], dieAfter: 1, chunkDelayMs: 50 });

  const sse = await post("/chat/stream", { message: "hi" });
  const raw = await sse.text();
  assert.match(raw, /event: error\ndata: UPSTREAM_ERROR: [^\n]+\n\ndata: \[DONE\]\n\n$/);
  assert.ok(raw.includes("data: partial \n\n"));

  const text = await (await post("/chat/stream-text", { message: "hi" })).text();
  assert.match(text, /^\[request_id=[^\]]+\]\npartial \n\[ERROR\] UPSTREAM_ERROR: [^\n]+\n$/);

  const openAI = await post("/v1/chat/completions", {
    stream: true,
    messages: [{ role: "user", content: "hi" }],
  });
  const { events } = parseSse(await openAI.text());
  const error = JSON.parse(events.at(-2)!.data).error;
  assert.equal(error.code, "upstream_error");
  assert.equal(error.type, "api_error");
  assert.equal(events.at(-1)!.data, "[DONE]");

  assert.equal(
    upstream.requests.length,
    3,
    "one upstream call per stream: none retried after the first byte",
  );
  assert.equal(app.streamSlots.active, 0);
});

test("a failure before the first delta is retried even on a stream that already sent meta", async (t) => {
  const { observer, calls } = recordingObserver();
  const { post, upstream } = await startChatTestApp(t, { llmCallObserver: observer });
  upstream.script({ dieAfter: 0 }, { deltas: ["second try"] });
  const { events } = parseSse(await (await post("/chat/stream", { message: "hi" })).text());
  assert.deepEqual(
    events.filter((event) => event.event === "message").map((event) => event.data),
    ["second try", "[DONE]"],
  );
  assert.equal(upstream.requests.length, 2);
  assert.deepEqual(calls[0].retries, ["connection_error"]);
  assert.equal(calls[0].chunks, 1);
  assert.equal(calls[0].end?.output, "second try");
});

test("the /v1 stream answers an upstream failure before the first delta with an HTTP error", async (t) => {
  const { post, upstream } = await startChatTestApp(t, { environment: { LLM_MAX_RETRIES: "0" } });
  upstream.script({ status: 401 });
  const response = await post("/v1/chat/completions", {
    stream: true,
    messages: [{ role: "user", content: "hi" }],
  });
  assert.equal(response.status, 502);
  assert.deepEqual(Object.keys((await readJson(response)).error).sort(), [
    "code",
    "message",
    "param",
    "type",
  ]);
});

test("an upstream that cannot be reached is retried, then a 503 UPSTREAM_UNAVAILABLE", async (t) => {
  const { observer, calls } = recordingObserver();
  // Port 9 (discard) has no listener here: every connection is refused.
  const { post } = await startChatTestApp(t, {
    llmCallObserver: observer,
    environment: { OPENAI_BASE_URL: "http://127.0.0.1:9/v1", LLM_MAX_RETRIES: "1" },
  });
  const response = await post("/chat", { message: "hi" });
  assert.equal(response.status, 503);
  assert.equal((await readJson(response)).error.code, "UPSTREAM_UNAVAILABLE");
  assert.deepEqual(calls[0].retries, ["connection_error"]);
  assert.equal(calls[0].end?.errorType, "UPSTREAM_UNAVAILABLE");
});
