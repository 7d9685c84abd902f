// Job events streams (`/status/{id}/events`) under their quotas, over real HTTP: they take stream
// slots like chat streams, a job has a bounded number of them, and a drain ends each with a frame.
import assert from "node:assert/strict";
import http from "node:http";
import { test } from "node:test";
import { buildTestApp } from "../support/build-test-app.ts";
import { collectGarbage } from "../support/collect-garbage.ts";
import { SseParser } from "../support/sse-parser.ts";
import { waitFor } from "../support/wait-for.ts";

type Context = { after: (callback: () => unknown) => void; diagnostic: (message: string) => void };

/** An app with no worker, so its jobs stay queued and their streams open, and one queued job. */
async function appWithQueuedJob(t: Context, environment: Record<string, string> = {}) {
  const built = await buildTestApp({ environment: { LOG_LEVEL: "silent", ...environment } });
  let closed = false;
  t.after(() => (closed ? undefined : built.app.close()));
  const address = await built.app.listen({ port: 0, host: "127.0.0.1" });
  const job = await built.app.jobQueue.enqueue({ type: "ingest-document", payload: {}, source: "waiting" });
  return {
    ...built,
    address,
    eventsUrl: `${address}/status/${job.id}/events`,
    close: async () => {
      closed = true;
      await built.app.close();
    },
  };
}

/** Opens an events stream; resolves with its status once the head arrives. */
function openEvents(url: string, agent?: http.Agent) {
  const parser = new SseParser();
  let ended = false;
  let request: http.ClientRequest;
  const opened = new Promise<{ status: number; retryAfter?: string; body: string }>((resolve, reject) => {
    request = http.get(url, { agent }, (response) => {
      response.setEncoding("utf8");
      let body = "";
      const status = response.statusCode ?? 0;
      if (status === 200) resolve({ status, body });
      response.on("data", (chunk: string) => {
        if (status === 200) parser.push(chunk);
        else body += chunk;
      });
      response.on("end", () => {
        ended = true;
        if (status !== 200) resolve({ status, retryAfter: response.headers["retry-after"], body });
      });
    });
    request.on("error", reject);
  });
  return {
    opened,
    parser,
    isEnded: () => ended,
    close: () => request.destroy(),
  };
}

test("events streams count against MAX_CONCURRENT_STREAMS, with chat streams", async (t) => {
  const { app, address, eventsUrl } = await appWithQueuedJob(t, { MAX_CONCURRENT_STREAMS: "2" });
  const first = openEvents(eventsUrl);
  const second = openEvents(eventsUrl);
  assert.equal((await first.opened).status, 200);
  assert.equal((await second.opened).status, 200);
  assert.equal(app.streamSlots.active, 2);

  const third = await openEvents(eventsUrl).opened;
  assert.equal(third.status, 429);
  assert.equal(third.retryAfter, "1");
  assert.equal(JSON.parse(third.body).error.code, "TOO_MANY_STREAMS");
  const chat = await fetch(`${address}/chat/stream`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ message: "hello" }),
  });
  assert.equal(chat.status, 429, "a chat stream finds no slot either");
  await chat.body?.cancel();

  const metrics = await (await fetch(`${address}/metrics`)).text();
  assert.match(metrics, /^llm_api_stream_slots_used 2$/m);
  assert.match(metrics, /^llm_api_stream_slots_limit 2$/m);

  first.close();
  await waitFor("the slot to be released", () => app.streamSlots.active === 1);
  const again = openEvents(eventsUrl);
  assert.equal((await again.opened).status, 200);
  second.close();
  again.close();
  await waitFor("every slot to be released", () => app.streamSlots.active === 0);
});

test("10,000 subscribe attempts on one job stay within JOB_MAX_SUBSCRIBERS, and the heap returns after they close", async (t) => {
  const cap = 20;
  const { app, eventsUrl } = await appWithQueuedJob(t, { JOB_MAX_SUBSCRIBERS: String(cap) });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 100 });
  t.after(() => agent.destroy());
  // Warm up the route and the agent, so the baseline holds what any first request allocates.
  await openEvents(eventsUrl, agent).opened;
  await waitFor("the warm-up to close", () => app.streamSlots.active === 1);
  collectGarbage();
  const baseline = process.memoryUsage().heapUsed;

  const attempts = 10_000;
  const accepted: ReturnType<typeof openEvents>[] = [];
  const statuses = new Map<number, number>();
  let peak = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      // Past the cap the streams would hold every socket and the loop would wait forever.
      while (next < attempts && accepted.length < cap) {
        next += 1;
        const events = openEvents(eventsUrl, agent);
        const { status, body } = await events.opened;
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (status === 200) accepted.push(events);
        else assert.equal(JSON.parse(body).error.code, "TOO_MANY_SUBSCRIBERS");
        peak = Math.max(peak, app.streamSlots.active);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  t.diagnostic(
    `${attempts} attempts in ${seconds.toFixed(1)} s: ${JSON.stringify(Object.fromEntries(statuses))}`,
  );
  // The warm-up stream still holds one of the cap's places.
  assert.equal(statuses.get(200), cap - 1);
  assert.equal(statuses.get(429), attempts - (cap - 1));
  assert.ok(peak <= cap, `at most ${cap} open at once (peak ${peak})`);

  for (const events of accepted) events.close();
  agent.destroy();
  await waitFor("every stream to close", () => app.streamSlots.active === 0, { timeoutMs: 10_000 });
  collectGarbage();
  const grown = process.memoryUsage().heapUsed - baseline;
  t.diagnostic(`heap after the streams closed: ${(grown / 1_048_576).toFixed(1)} MiB above the baseline`);
  assert.ok(grown < 16 * 1_048_576, `the heap returned (grew ${(grown / 1_048_576).toFixed(1)} MiB)`);
});

test("on drain every events stream ends with an event: error frame carrying SHUTTING_DOWN", async (t) => {
  const { app, eventsUrl, close } = await appWithQueuedJob(t);
  const streams = [openEvents(eventsUrl), openEvents(eventsUrl)];
  for (const events of streams) assert.equal((await events.opened).status, 200);
  await waitFor("the queued frames", () => streams.every((events) => events.parser.events.length === 1));

  await close();
  for (const events of streams) {
    await waitFor("the stream to end", events.isEnded);
    const last = events.parser.events.at(-1);
    assert.equal(last?.event, "error");
    const data = JSON.parse(last?.data ?? "{}") as { code: string; message: string };
    assert.equal(data.code, "SHUTTING_DOWN");
    assert.ok(data.message.length > 0);
    assert.deepEqual(
      events.parser.events.map((event) => event.event),
      ["status", "error"],
    );
  }
  assert.equal(app.streamSlots.active, 0);
});
