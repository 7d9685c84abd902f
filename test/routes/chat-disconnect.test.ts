import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { startChatTestApp } from "../support/chat-test-app.ts";
import { readJson } from "../support/read-json.ts";
import { readStreamUntil } from "../support/read-stream-until.ts";
import { startStalledReader } from "../support/stalled-reader.ts";
import { waitFor } from "../support/wait-for.ts";
import { waitForNoActiveStreams } from "../support/wait-for-no-active-streams.ts";

const STREAMS = [
  { path: "/chat/stream", body: { message: "hi" } },
  { path: "/chat/stream-text", body: { message: "hi" } },
  { path: "/v1/chat/completions", body: { stream: true, messages: [{ role: "user", content: "hi" }] } },
];

for (const stream of STREAMS) {
  test(`${stream.path}: a client that disconnects mid-stream aborts the upstream within 1 s`, async (t) => {
    const { address, upstream, app } = await startChatTestApp(t);
    upstream.script({
      deltas: Array.from({ length: 200 }, (_, index) => `token${index} `),
      chunkDelayMs: 20,
    });
    const controller = new AbortController();
    const response = await fetch(`${address}${stream.path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(stream.body),
      signal: controller.signal,
    });
    await readStreamUntil(response.body!.getReader(), "token1");
    assert.equal(app.streamSlots.active, 1);
    const disconnectedAt = Date.now();
    controller.abort();
    const record = await upstream.waitForAbort(0, 1000);
    assert.ok(record.abortedAt! - disconnectedAt < 1000);
    assert.ok(record.deltasWritten < 200, "the upstream stopped generating");
    await waitForNoActiveStreams(app);
  });
}

const WAITING = [
  { path: "/chat", body: { message: "hi" } },
  // The relay: a non-streaming answer collected from the upstream without a body stream.
  { path: "/v1/chat/completions", body: { messages: [{ role: "user", content: "hi" }] } },
];

for (const waiting of WAITING) {
  test(`${waiting.path}: a client that disconnects while waiting aborts the upstream within 1 s`, async (t) => {
    const { address, upstream, app } = await startChatTestApp(t);
    upstream.script({ firstChunkDelayMs: 5000 });
    const controller = new AbortController();
    const pending = fetch(`${address}${waiting.path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(waiting.body),
      signal: controller.signal,
    }).catch(() => undefined);
    await waitFor("the upstream request", () => upstream.requests.length > 0, { intervalMs: 10 });
    const disconnectedAt = Date.now();
    controller.abort();
    await pending;
    const record = await upstream.waitForAbort(0, 1000);
    assert.ok(record.abortedAt! - disconnectedAt < 1000);
    // The call ended as a disconnect, and the app is still answering.
    const health = await fetch(`${address}/health`);
    assert.equal(health.status, 200);
    assert.equal(app.streamSlots.active, 0);
  });
}

test("a client that stops reading holds the upstream back, and is cut after STREAM_STALL_MS", async (t) => {
  const { address, upstream, app } = await startChatTestApp(t, { environment: { STREAM_STALL_MS: "1500" } });
  const delta = "x".repeat(4096);
  const deltaCount = 16_000; // 64 MiB if nothing held it back
  upstream.script({ deltas: Array.from({ length: deltaCount }, () => delta) });
  const clientRequest = startStalledReader(`${address}/chat/stream-text`, { message: "hi" });

  // Time for an unchecked relay to have written far more than the socket buffers hold.
  await sleep(1000);
  const written = upstream.requests[0]?.deltasWritten ?? 0;
  // Socket buffers on both hops hold a few MiB at most; the rest waits upstream.
  assert.ok(written * delta.length < 16 * 1024 * 1024, `upstream wrote ${written} deltas`);
  assert.ok(written < deltaCount);
  const heapUsed = process.memoryUsage().heapUsed;
  await sleep(300);
  assert.ok(process.memoryUsage().heapUsed - heapUsed < 32 * 1024 * 1024, "memory does not keep growing");

  await upstream.waitForAbort(0, 4000);
  await waitForNoActiveStreams(app);
  clientRequest.destroy();
});

test("MAX_CONCURRENT_STREAMS: past the cap a stream is a 429 with Retry-After; slots come back", async (t) => {
  const { post, upstream, app } = await startChatTestApp(t, { environment: { MAX_CONCURRENT_STREAMS: "1" } });
  upstream.script({ firstChunkDelayMs: 600, deltas: ["slow"] }, { deltas: ["next"] });
  const first = post("/chat/stream", { message: "hi" });
  await waitFor("the first stream's slot", () => app.streamSlots.active > 0, { intervalMs: 5 });

  const refused = await post("/chat/stream-text", { message: "hi" });
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get("retry-after"), "1");
  assert.equal((await readJson(refused)).error.code, "TOO_MANY_STREAMS");
  // Non-streaming calls do not take a stream slot.
  assert.equal((await post("/chat", { message: "hi", model: "echo" })).status, 200);

  assert.match(await (await first).text(), /data: slow\n\n/);
  await waitForNoActiveStreams(app);
  assert.equal((await post("/chat/stream", { message: "hi" })).status, 200);
  await waitForNoActiveStreams(app);
});
