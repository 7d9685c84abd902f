// /v1/chat/completions relays to providers that speak Chat Completions (openai, ollama) instead of
// rebuilding their answer through the AI SDK. These tests pin what is specific to the relay and
// that the failure handling of the AI SDK path holds on it too.
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { LlmCallEnd, LlmCallObserver } from "../../src/llm/llm-call-observer.ts";
import { startChatTestApp } from "../support/chat-test-app.ts";
import { readJson } from "../support/read-json.ts";
import { parseSse } from "../support/sse-parser.ts";
import { startStalledReader } from "../support/stalled-reader.ts";
import { waitForNoActiveStreams } from "../support/wait-for-no-active-streams.ts";

const TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const MESSAGES = [{ role: "user", content: "hi" }];

function recordingObserver() {
  const calls: { retries: string[]; chunks: number; end?: LlmCallEnd }[] = [];
  const observer: LlmCallObserver = {
    start() {
      const call = { retries: [] as string[], chunks: 0, end: undefined as LlmCallEnd | undefined };
      calls.push(call);
      return {
        chunk: () => {
          call.chunks += 1;
        },
        retry: (reason) => call.retries.push(reason),
        end: (result) => {
          assert.equal(call.end, undefined, "end is called once");
          call.end = result;
        },
        upstreamHeaders: () => ({ traceparent: TRACEPARENT }),
      };
    },
  };
  return { observer, calls };
}

/** The same request sent straight to the fake upstream: what the relay must pass on. */
async function straightFromUpstream(baseUrl: string, body: object): Promise<string> {
  const response = await fetch(`${baseUrl}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return response.text();
}

test("JSON: the upstream's body is relayed byte for byte, and the observer sees usage and text", async (t) => {
  const { observer, calls } = recordingObserver();
  const { post, upstream } = await startChatTestApp(t, { llmCallObserver: observer });
  upstream.script({ deltas: ["Hello", " there"] });
  const response = await post("/v1/chat/completions", { model: "openai:fake-model", messages: MESSAGES });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "application/json; charset=utf-8");
  const relayed = await response.text();
  assert.equal(relayed, await straightFromUpstream(upstream.baseUrl, { model: "fake-model", stream: false }));

  const sent = upstream.requests[0];
  assert.equal(sent.path, "/v1/chat/completions");
  assert.equal(sent.headers.authorization, "Bearer sk-test-openai");
  assert.equal(sent.headers.traceparent, TRACEPARENT);
  assert.deepEqual(sent.body, { model: "fake-model", messages: MESSAGES });
  assert.deepEqual(calls[0].end, {
    outcome: "success",
    responseModel: "fake-model",
    finishReason: "stop",
    inputTokens: 7,
    outputTokens: 2,
    toolCalls: 0,
    output: "Hello there",
    // The environment's model is a catalog of one: its deployment is named after its provider.
    deployment: "openai:fake-model/openai",
    attempts: 1,
  });
  assert.equal(calls[0].chunks, 1);
});

test("stream: frames are relayed as sent, the usage frame dropped when the client did not ask", async (t) => {
  const { observer, calls } = recordingObserver();
  const { post, upstream, app } = await startChatTestApp(t, { llmCallObserver: observer });
  upstream.script({ deltas: ["one\n", "two ", "three"] });
  const response = await post("/v1/chat/completions", { stream: true, messages: MESSAGES });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/event-stream");
  const relayed = await response.text();

  // The upstream was asked for usage although the client was not.
  assert.deepEqual(upstream.requests[0].body.stream_options, { include_usage: true });
  const direct = await straightFromUpstream(upstream.baseUrl, { model: "fake-model", stream: true });
  const directFrames = direct.split("\n\n").filter((frame) => frame !== "");
  const usageFrames = directFrames.filter((frame) => frame.includes('"usage"'));
  assert.equal(usageFrames.length, 1);
  const expected = directFrames.filter((frame) => !frame.includes('"usage"'));
  assert.equal(relayed, `${expected.join("\n\n")}\n\n`);
  assert.ok(relayed.endsWith("data: [DONE]\n\n"));

  assert.equal(calls[0].end?.outcome, "success");
  assert.equal(calls[0].end?.output, "one\ntwo three");
  assert.equal(calls[0].end?.inputTokens, 7, "usage is counted even though the client did not get it");
  assert.equal(calls[0].end?.outputTokens, 3);
  assert.equal(calls[0].chunks, 3);
  assert.equal(app.streamSlots.active, 0);
});

test("stream: the usage frame is kept when the client asks for it", async (t) => {
  const { post, upstream } = await startChatTestApp(t);
  upstream.script({ deltas: ["a", "b"] });
  const response = await post("/v1/chat/completions", {
    stream: true,
    stream_options: { include_usage: true },
    messages: MESSAGES,
  });
  const relayed = await response.text();
  assert.equal(relayed, await straightFromUpstream(upstream.baseUrl, { model: "fake-model", stream: true }));
  const events = parseSse(relayed).events;
  const usage = events.map((event) => event.data).find((data) => data.includes('"usage"'));
  assert.deepEqual(JSON.parse(usage!).usage, { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 });
});

test("stream: an upstream that ignores include_usage still streams to [DONE]; usage is unknown", async (t) => {
  const { observer, calls } = recordingObserver();
  const { post, upstream } = await startChatTestApp(t, { llmCallObserver: observer });
  upstream.script({ deltas: ["x", "y"], ignoreIncludeUsage: true });
  const response = await post("/v1/chat/completions", {
    stream: true,
    stream_options: { include_usage: true },
    messages: MESSAGES,
  });
  const { events } = parseSse(await response.text());
  assert.equal(events.at(-1)?.data, "[DONE]");
  assert.ok(events.length > 2, "the content frames came through");
  assert.ok(events.every((event) => !event.data.includes('"usage"')));
  assert.equal(calls[0].end?.outcome, "success");
  assert.equal(calls[0].end?.output, "xy");
  assert.equal(calls[0].end?.inputTokens, undefined);
  assert.equal(calls[0].end?.outputTokens, undefined);
});

test("stream: a reply without text still sends its frames, then [DONE]", async (t) => {
  const { post, upstream } = await startChatTestApp(t);
  upstream.script({ deltas: [] });
  const response = await post("/v1/chat/completions", { stream: true, messages: MESSAGES });
  const { events } = parseSse(await response.text());
  assert.deepEqual(
    events.map((event) =>
      event.data === "[DONE]" ? "[DONE]" : JSON.parse(event.data).choices[0].finish_reason,
    ),
    [null, "stop", "[DONE]"],
  );
});

for (const stream of [false, true]) {
  const kind = stream ? "stream" : "JSON";

  test(`${kind}: a 429 with retry-after-ms is retried after the wait, with trace context each time`, async (t) => {
    const { observer, calls } = recordingObserver();
    const { post, upstream } = await startChatTestApp(t, { llmCallObserver: observer });
    upstream.script({ status: 429, headers: { "retry-after-ms": "300" } }, { deltas: ["fine"] });
    const started = Date.now();
    const response = await post("/v1/chat/completions", { stream, messages: MESSAGES });
    assert.equal(response.status, 200);
    assert.match(await response.text(), /fine/);
    assert.ok(Date.now() - started >= 280);
    assert.equal(upstream.requests.length, 2);
    assert.ok(upstream.requests.every((request) => request.headers.traceparent === TRACEPARENT));
    assert.deepEqual(calls[0].retries, ["rate_limited"]);
    assert.equal(calls[0].end?.outcome, "success");
  });

  test(`${kind}: upstream statuses map to OpenAI-shaped errors without upstream detail`, async (t) => {
    const { post, upstream } = await startChatTestApp(t, { environment: { LLM_MAX_RETRIES: "1" } });
    const cases = [
      { status: 401, expected: 502, code: "upstream_auth_failed", attempts: 1 },
      { status: 403, expected: 502, code: "upstream_auth_failed", attempts: 1 },
      // About the request itself: the upstream's reason comes back so the caller can fix it.
      { status: 400, expected: 400, code: "upstream_rejected_request", attempts: 1, reasonShown: true },
      { status: 404, expected: 404, code: "upstream_not_found", attempts: 1, reasonShown: true },
      { status: 422, expected: 400, code: "upstream_rejected_request", attempts: 1, reasonShown: true },
      { status: 413, expected: 502, code: "upstream_bad_request", attempts: 1 },
      { status: 500, expected: 502, code: "upstream_error", attempts: 2 },
      { status: 429, expected: 429, code: "upstream_rate_limited", attempts: 1, retryAfter: "120" },
    ];
    for (const item of cases) {
      upstream.requests.length = 0;
      upstream.script({
        status: item.status,
        errorMessage: "Incorrect API key sk-test-*** at /srv/internal",
        headers: item.retryAfter ? { "retry-after": item.retryAfter } : { "retry-after-ms": "1" },
      });
      const response = await post("/v1/chat/completions", { stream, messages: MESSAGES });
      assert.equal(response.status, item.expected, `${item.status}`);
      const body = await response.text();
      assert.equal(JSON.parse(body).error.code, item.code);
      // A key is never shown; the rest of the upstream's words only when they are about the request.
      assert.ok(!body.includes("sk-test"), body);
      assert.equal(body.includes("/srv/internal"), item.reasonShown === true, body);
      if (item.reasonShown)
        assert.match(JSON.parse(body).error.message, /Incorrect API key \[redacted\] at \/srv\/internal/);
      assert.equal(upstream.requests.length, item.attempts, `${item.status} attempts`);
      if (item.retryAfter) assert.equal(response.headers.get("retry-after"), item.retryAfter);
    }
  });

  test(`${kind}: no first byte within LLM_TIMEOUT_MS is a 504 and the upstream is aborted`, async (t) => {
    const { post, upstream, app } = await startChatTestApp(t, {
      environment: { LLM_TIMEOUT_MS: "300", LLM_MAX_RETRIES: "0" },
    });
    upstream.script({ firstChunkDelayMs: 3000 });
    const response = await post("/v1/chat/completions", { stream, messages: MESSAGES });
    assert.equal(response.status, 504);
    assert.equal((await readJson(response)).error.code, "upstream_timeout");
    await upstream.waitForAbort(0, 1000);
    assert.equal(app.streamSlots.active, 0);
  });

  test(`${kind}: an unreachable upstream is retried, then a 503`, async (t) => {
    const { observer, calls } = recordingObserver();
    const { post } = await startChatTestApp(t, {
      llmCallObserver: observer,
      environment: { OPENAI_BASE_URL: "http://127.0.0.1:9/v1", LLM_MAX_RETRIES: "1" },
    });
    const response = await post("/v1/chat/completions", { stream, messages: MESSAGES });
    assert.equal(response.status, 503);
    assert.equal((await readJson(response)).error.code, "upstream_unavailable");
    assert.deepEqual(calls[0].retries, ["connection_error"]);
    assert.equal(calls[0].end?.errorType, "UPSTREAM_UNAVAILABLE");
  });
}

test("stream: a connection lost before the first text is retried; the client sees one clean stream", async (t) => {
  const { observer, calls } = recordingObserver();
  const { post, upstream } = await startChatTestApp(t, { llmCallObserver: observer });
  // The pause lets the role frame arrive, to be held back, before the connection goes.
  upstream.script({ dieAfter: 0, dieDelayMs: 50 }, { deltas: ["second try"] });
  const raw = await (await post("/v1/chat/completions", { stream: true, messages: MESSAGES })).text();
  const frames = parseSse(raw).events.filter((event) => event.data !== "[DONE]");
  assert.equal(frames.filter((event) => JSON.parse(event.data).choices[0]?.delta?.role).length, 1);
  assert.equal(upstream.requests.length, 2);
  assert.deepEqual(calls[0].retries, ["connection_error"]);
  assert.equal(calls[0].end?.output, "second try");
});

test("stream: a body that ends cleanly before the reply is finished ends with our error frame, never a silent truncation", async (t) => {
  const { observer, calls } = recordingObserver();
  const { post, upstream } = await startChatTestApp(t, { llmCallObserver: observer });
  // Apart in time, so the end arrives after the first text went out: too late to retry.
  upstream.script({ deltas: ["a", "b"], chunkDelayMs: 30, endAfter: 1 });
  const { events } = parseSse(
    await (await post("/v1/chat/completions", { stream: true, messages: MESSAGES })).text(),
  );
  assert.deepEqual(
    events.slice(0, -2).flatMap((event) => JSON.parse(event.data).choices[0]?.delta?.content ?? []),
    ["", "a"],
  );
  assert.equal(JSON.parse(events.at(-2)!.data).error.code, "upstream_error");
  assert.equal(events.at(-1)?.data, "[DONE]");
  assert.equal(calls[0].end?.outcome, "error");
});

test("stream: an upstream silent past LLM_IDLE_TIMEOUT_MS mid-stream ends with a timeout error frame", async (t) => {
  const { post, upstream, app } = await startChatTestApp(t, { environment: { LLM_IDLE_TIMEOUT_MS: "300" } });
  upstream.script({ deltas: ["a", "b", "c"], stallAfter: 1 });
  const { events } = parseSse(
    await (await post("/v1/chat/completions", { stream: true, messages: MESSAGES })).text(),
  );
  assert.equal(JSON.parse(events.at(-2)!.data).error.code, "upstream_timeout");
  assert.equal(events.at(-1)?.data, "[DONE]");
  assert.equal(upstream.requests.length, 1);
  await upstream.waitForAbort(0, 1000);
  assert.equal(app.streamSlots.active, 0);
});

test("stream: an error frame from the upstream mid-stream ends the stream with our error frame and drops the upstream", async (t) => {
  const { observer, calls } = recordingObserver();
  const { post, upstream, app } = await startChatTestApp(t, { llmCallObserver: observer });
  // Apart in time, so the error arrives after the first text went out (not in one read with it).
  upstream.script({
    deltas: ["a", "b", "c"],
    chunkDelayMs: 30,
    errorFrameAfter: 2,
    errorMessage: "internal detail /srv/x",
  });
  const text = await (await post("/v1/chat/completions", { stream: true, messages: MESSAGES })).text();
  const { events } = parseSse(text);
  assert.equal(JSON.parse(events.at(-2)!.data).error.code, "upstream_error");
  assert.equal(events.at(-1)?.data, "[DONE]");
  assert.ok(!text.includes("/srv/x"), "the upstream's detail stays out of the stream");
  // The two deltas before the error were relayed; the upstream, left open by the fake, is dropped.
  assert.deepEqual(
    events.slice(0, -2).flatMap((event) => JSON.parse(event.data).choices[0]?.delta?.content ?? []),
    ["", "a", "b"],
  );
  await upstream.waitForAbort(0, 1000);
  assert.equal(calls[0].end?.outcome, "error");
  assert.equal(app.streamSlots.active, 0);
});

test("stream: a client that stops reading holds the upstream back and is cut after STREAM_STALL_MS", async (t) => {
  const { address, upstream, app } = await startChatTestApp(t, { environment: { STREAM_STALL_MS: "1500" } });
  const delta = "x".repeat(4096);
  const deltaCount = 16_000; // 64 MiB if nothing held it back
  upstream.script({ deltas: Array.from({ length: deltaCount }, () => delta) });
  const clientRequest = startStalledReader(`${address}/v1/chat/completions`, {
    stream: true,
    messages: MESSAGES,
  });

  // Time for an unchecked relay to have written far more than the socket buffers hold.
  await sleep(1000);
  const written = upstream.requests[0]?.deltasWritten ?? 0;
  assert.ok(written * delta.length < 16 * 1024 * 1024, `upstream wrote ${written} deltas`);
  await upstream.waitForAbort(0, 4000);
  await waitForNoActiveStreams(app);
  clientRequest.destroy();
});

test("echo and anthropic models keep the AI SDK path", async (t) => {
  const { post, upstream } = await startChatTestApp(t);
  const echo = await readJson(await post("/v1/chat/completions", { model: "echo", messages: MESSAGES }));
  assert.equal(echo.model, "echo");
  const anthropic = await readJson(
    await post("/v1/chat/completions", { model: "anthropic:claude-fake", messages: MESSAGES }),
  );
  assert.equal(anthropic.model, "anthropic:claude-fake");
  // Echo never calls out; the anthropic model made the one request, to the Messages API.
  assert.equal(upstream.requests.length, 1);
  assert.ok(upstream.requests.every((request) => request.path.endsWith("/messages")));
});
