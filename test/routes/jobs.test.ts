import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import http, { type IncomingHttpHeaders } from "node:http";
import { type AddressInfo, connect } from "node:net";
import path from "node:path";
import { test } from "node:test";
import type { JobProcessor } from "../../src/jobs/job-worker.ts";
import { startJobWorker } from "../../src/jobs/start-job-worker.ts";
import { jobRoutes } from "../../src/routes/jobs.ts";
import { buildTestApp } from "../support/build-test-app.ts";
import { SseParser } from "../support/sse-parser.ts";
import { waitFor } from "../support/wait-for.ts";

type StatusBody = {
  job_id: string;
  status: string;
  progress: number;
  source: string | null;
  result?: Record<string, unknown>;
  error?: string;
  error_code?: string;
  attempts: number;
  created_at: string;
  updated_at: string;
};

type App = Awaited<ReturnType<typeof buildTestApp>>["app"];

async function appWithWorker(
  t: { after: (callback: () => unknown) => void },
  options: { worker?: boolean; environment?: Record<string, string> } = {},
) {
  const built = await buildTestApp({
    environment: { CHUNK_SIZE: "200", CHUNK_OVERLAP: "40", LOG_LEVEL: "silent", ...options.environment },
  });
  const { app, config } = built;
  mkdirSync(config.ingestRoot, { recursive: true });
  const worker =
    options.worker === false
      ? undefined
      : startJobWorker({
          config,
          jobQueue: app.jobQueue,
          knowledgeStore: app.knowledgeStore,
          logger: app.log as never,
        });
  t.after(async () => {
    await worker?.stop({ timeoutMs: 0 });
    await app.close();
  });
  return built;
}

function startWorker(
  t: { after: (callback: () => unknown) => void },
  app: App,
  processors?: Record<string, JobProcessor>,
) {
  const worker = startJobWorker({
    config: app.config,
    jobQueue: app.jobQueue,
    knowledgeStore: app.knowledgeStore,
    logger: app.log as never,
    processors,
  });
  t.after(() => worker.stop({ timeoutMs: 0 }));
  return worker;
}

/** An events stream read over real HTTP, parsed as it arrives. */
function openEvents(url: string) {
  const parser = new SseParser();
  let headers: IncomingHttpHeaders | undefined;
  let ended = false;
  let failure: Error | undefined;
  http
    .get(url, (response) => {
      headers = response.headers;
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => parser.push(chunk));
      response.on("end", () => {
        ended = true;
      });
    })
    .on("error", (error) => {
      failure = error;
    });
  return {
    parser,
    headers: () => headers,
    /** True once the server ended the stream; throws if the connection failed. */
    isEnded: () => {
      if (failure) throw failure;
      return ended;
    },
    statuses: () => parser.events.map((event) => JSON.parse(event.data) as StatusBody),
  };
}

async function finalStatus(app: App, id: string): Promise<StatusBody> {
  return waitFor(`job ${id} to finish`, async () => {
    const body = (await app.inject({ method: "GET", url: `/status/${id}` })).json() as StatusBody;
    return ["completed", "failed", "cancelled"].includes(body.status) ? body : undefined;
  });
}

test("POST /ingest with inline text answers 202 and a Location; /status follows it to a stored, searchable document", async (t) => {
  const { app } = await appWithWorker(t);
  const text = Array.from(
    { length: 12 },
    (_, index) =>
      `Paragraph ${index} talks about lighthouse keepers and their lamps. It has a second sentence.`,
  ).join("\n\n");
  const response = await app.inject({
    method: "POST",
    url: "/ingest",
    payload: { source: "notes.txt", text },
  });
  assert.equal(response.statusCode, 202);
  const body = response.json() as { job_id: string; status: string };
  assert.equal(body.status, "queued");
  assert.equal(response.headers.location, `/status/${body.job_id}`);

  const done = await finalStatus(app, body.job_id);
  assert.equal(done.status, "completed", JSON.stringify(done));
  assert.equal(done.progress, 100);
  assert.equal(done.source, "notes.txt");
  assert.ok(Date.parse(done.created_at) <= Date.parse(done.updated_at));
  assert.equal(done.result?.source, "notes.txt");
  assert.equal(done.result?.content_type, "text/plain");
  assert.equal(done.result?.bytes, Buffer.byteLength(text));
  assert.equal(done.result?.characters, text.length);
  assert.ok((done.result?.chunks as number) > 3, `chunks: ${done.result?.chunks}`);
  assert.equal(done.error, undefined);
  assert.equal(done.error_code, undefined);

  const hits = await app.knowledgeStore.search("lighthouse lamps");
  assert.ok(hits.length > 0);
  assert.equal(hits[0].documentId, done.result?.document_id);
});

test("file sources under INGEST_ROOT ingest as Markdown, HTML (scripts and styles dropped) and JSON", async (t) => {
  const { app, config } = await appWithWorker(t);
  mkdirSync(path.join(config.ingestRoot, "docs"), { recursive: true });
  writeFileSync(path.join(config.ingestRoot, "docs", "guide.md"), "# Guide\n\nThe walrus sings at dawn.");
  writeFileSync(
    path.join(config.ingestRoot, "page.html"),
    "<html><head><style>body{color:red}</style></head><body><h1>Orchids</h1><script>var secretToken=1</script><p>Orchids bloom &amp; fade.</p></body></html>",
  );
  writeFileSync(
    path.join(config.ingestRoot, "data.json"),
    JSON.stringify({ animal: "pangolin", facts: ["scaly"] }),
  );
  const expectations: [string, string, string][] = [
    ["docs/guide.md", "text/markdown", "walrus"],
    ["page.html", "text/html", "orchids"],
    ["data.json", "application/json", "pangolin"],
  ];
  for (const [source, contentType, word] of expectations) {
    const { job_id } = (await app.inject({ method: "POST", url: "/ingest", payload: { source } })).json();
    const done = await finalStatus(app, job_id);
    assert.equal(done.status, "completed", `${source}: ${JSON.stringify(done)}`);
    assert.equal(done.result?.content_type, contentType);
    const hits = await app.knowledgeStore.search(word);
    assert.equal(hits[0]?.source, source);
  }
  const html = await app.knowledgeStore.search("orchids");
  assert.match(html[0].text, /Orchids bloom & fade\./);
  assert.doesNotMatch(html[0].text, /secretToken|color:red/);
  assert.deepEqual(await app.knowledgeStore.search("secretToken"), []);
});

test("re-ingesting a source replaces its document", async (t) => {
  const { app } = await appWithWorker(t);
  const first = (
    await app.inject({
      method: "POST",
      url: "/ingest",
      payload: { source: "faq", text: "Old answer about zebras." },
    })
  ).json();
  const firstDone = await finalStatus(app, first.job_id);
  const second = (
    await app.inject({
      method: "POST",
      url: "/ingest",
      payload: { source: "faq", text: "New answer about giraffes." },
    })
  ).json();
  const secondDone = await finalStatus(app, second.job_id);
  assert.notEqual(firstDone.result?.document_id, secondDone.result?.document_id);
  const documents = await app.knowledgeStore.documentsForSource("faq");
  assert.deepEqual(
    documents.map((document) => document.id),
    [secondDone.result?.document_id],
  );
  assert.deepEqual(await app.knowledgeStore.search("zebras"), []);
  assert.equal((await app.knowledgeStore.search("giraffes")).length, 1);
});

test("hostile sources: bad paths are refused at once; a loopback URL fails its job without a connection", async (t) => {
  const { app } = await appWithWorker(t);
  let connections = 0;
  const canary = http.createServer((_request, response) => response.end("secret"));
  canary.on("connection", () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => canary.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise((resolve) => canary.close(resolve)));
  const port = (canary.address() as AddressInfo).port;

  for (const source of ["/etc/passwd", "../outside.txt", "%2e%2e/outside.txt", "ftp://example.com/file"]) {
    const response = await app.inject({ method: "POST", url: "/ingest", payload: { source } });
    assert.equal(response.statusCode, 400, source);
    assert.equal(response.json().error.code, "VALIDATION_FAILED");
  }
  const { job_id } = (
    await app.inject({ method: "POST", url: "/ingest", payload: { source: `http://0x7f.1:${port}/` } })
  ).json();
  const done = await finalStatus(app, job_id);
  assert.equal(done.status, "failed");
  assert.match(done.error ?? "", /not a public address/);
  assert.equal(done.error_code, "SOURCE_REFUSED");
  assert.equal(connections, 0);
});

test("a failed job's /status, /jobs entry and events carry error_code beside error", async (t) => {
  const { app } = await appWithWorker(t);
  const address = await app.listen({ port: 0, host: "127.0.0.1" });
  const { job_id } = (
    await app.inject({ method: "POST", url: "/ingest", payload: { source: "missing/notes.txt" } })
  ).json();
  const done = await finalStatus(app, job_id);
  assert.equal(done.status, "failed");
  assert.equal(done.error, "The file source does not exist under INGEST_ROOT.");
  assert.equal(done.error_code, "SOURCE_NOT_FOUND");
  assert.equal(done.attempts, 1, "a missing file is not retried");
  const listed = (await app.inject({ method: "GET", url: "/jobs?status=failed" })).json();
  assert.deepEqual(
    listed.jobs.map((job: StatusBody) => [job.job_id, job.error, job.error_code]),
    [[job_id, done.error, "SOURCE_NOT_FOUND"]],
  );
  const events = openEvents(`${address}/status/${job_id}/events`);
  await waitFor("the stream to end", events.isEnded);
  assert.deepEqual(
    events.statuses().map((status) => [status.status, status.error_code]),
    [["failed", "SOURCE_NOT_FOUND"]],
  );
  const document = (await app.inject({ method: "GET", url: "/openapi.json" })).json();
  const body = document.paths["/status/{job_id}"].get.responses["200"].content["application/json"].schema;
  assert.deepEqual(Object.keys(body.properties).slice(5, 8), ["result", "error", "error_code"]);
});

test("GET /status of an unknown job answers 404 with job_id and not_found", async (t) => {
  const { app } = await appWithWorker(t, { worker: false });
  const response = await app.inject({ method: "GET", url: "/status/nope-123" });
  assert.equal(response.statusCode, 404);
  assert.deepEqual(response.json(), { job_id: "nope-123", status: "not_found" });
});

test("GET /jobs filters by status and pages; POST /jobs/{id}/cancel cancels a queued job", async (t) => {
  const { app } = await appWithWorker(t, { worker: false });
  const ids: string[] = [];
  for (let index = 0; index < 3; index += 1) {
    ids.push(
      (
        await app.inject({ method: "POST", url: "/ingest", payload: { source: `n${index}`, text: "x" } })
      ).json().job_id,
    );
  }
  const cancelled = await app.inject({ method: "POST", url: `/jobs/${ids[0]}/cancel` });
  assert.equal(cancelled.statusCode, 200);
  assert.equal(cancelled.json().status, "cancelled");
  assert.equal((await app.inject({ method: "GET", url: `/status/${ids[0]}` })).json().status, "cancelled");

  const queued = (await app.inject({ method: "GET", url: "/jobs?status=queued&limit=1" })).json();
  assert.equal(queued.total, 2);
  assert.equal(queued.jobs.length, 1);
  assert.equal(queued.jobs[0].job_id, ids[2]);
  const nextPage = (await app.inject({ method: "GET", url: "/jobs?status=queued&limit=1&offset=1" })).json();
  assert.equal(nextPage.jobs[0].job_id, ids[1]);
  assert.equal((await app.inject({ method: "GET", url: "/jobs" })).json().total, 3);
  assert.equal((await app.inject({ method: "GET", url: "/jobs?status=bogus" })).statusCode, 400);
  assert.equal((await app.inject({ method: "POST", url: "/jobs/unknown/cancel" })).statusCode, 404);
});

test("cancelling a completed job is a 409", async (t) => {
  const { app } = await appWithWorker(t);
  const { job_id } = (
    await app.inject({ method: "POST", url: "/ingest", payload: { source: "a", text: "done soon" } })
  ).json();
  await finalStatus(app, job_id);
  const response = await app.inject({ method: "POST", url: `/jobs/${job_id}/cancel` });
  assert.equal(response.statusCode, 409);
  assert.equal(response.json().error.code, "CONFLICT");
});

test("GET /status/{id}/events streams progress until the final state, never backwards", async (t) => {
  const { app } = await appWithWorker(t, { worker: false });
  const address = await app.listen({ port: 0, host: "127.0.0.1" });
  const text = Array.from({ length: 400 }, (_, index) => `Sentence number ${index} about otters.`).join(
    "\n\n",
  );
  const { job_id } = (
    await app.inject({ method: "POST", url: "/ingest", payload: { source: "otters", text } })
  ).json();

  const events = openEvents(`${address}/status/${job_id}/events`);
  // The worker starts once the client has the queued state, so the stream shows every step.
  await waitFor("the queued frame", () => events.parser.events.length > 0);
  assert.equal(events.headers()?.["content-type"], "text/event-stream; charset=utf-8");
  assert.equal(events.headers()?.["cache-control"], "no-cache, no-transform");
  assert.ok(events.headers()?.["x-request-id"], "the stream carries its request id");
  startWorker(t, app);
  await waitFor("the stream to end", events.isEnded);
  const frames = events.statuses();
  assert.ok(events.parser.events.every((event) => event.event === "status"));
  assert.equal(frames[0].status, "queued");
  assert.equal(frames.at(-1)?.status, "completed");
  assert.ok(frames.length > 2, `progress frames between: ${frames.length}`);
  const progress = frames.map((frame) => frame.progress);
  assert.deepEqual(
    progress,
    [...progress].sort((a, b) => a - b),
  );

  const missing = await app.inject({ method: "GET", url: "/status/unknown/events" });
  assert.equal(missing.statusCode, 404);
});

test("an idle events stream sends pings, and the stream ends after the final state", async (t) => {
  const { app } = await appWithWorker(t, { worker: false, environment: { STREAM_PING_MS: "40" } });
  const address = await app.listen({ port: 0, host: "127.0.0.1" });
  const { job_id } = (
    await app.inject({ method: "POST", url: "/ingest", payload: { source: "idle", text: "Quiet words." } })
  ).json();
  const events = openEvents(`${address}/status/${job_id}/events`);
  await waitFor("two pings while the job waits", () => events.parser.comments.length >= 2);
  assert.deepEqual(new Set(events.parser.comments), new Set(["ping"]));
  assert.deepEqual(
    events.statuses().map((status) => status.status),
    ["queued"],
  );
  assert.equal(events.isEnded(), false, "an unfinished job's stream stays open");
  startWorker(t, app);
  await waitFor("the stream to end", events.isEnded);
  assert.equal(events.statuses().at(-1)?.status, "completed");
});

test("an events client that stops reading is cut after the stall time", async (t) => {
  const { app, logs } = await buildTestApp({
    // The same routes under a prefix, with a stall time short enough for a test.
    extend: async (built) => {
      await built.register(jobRoutes, {
        prefix: "/stalling",
        jobQueue: built.jobQueue,
        streamSlots: built.streamSlots,
        pingIntervalMs: 60_000,
        stallMs: 200,
      });
    },
  });
  t.after(() => app.close());
  const address = new URL(await app.listen({ port: 0, host: "127.0.0.1" }));
  // A result far larger than what the socket buffers hold, so the final frame cannot drain.
  const resultBytes = 32 * 1024 * 1024;
  startWorker(t, app, { huge: async () => "x".repeat(resultBytes) });
  const job = await app.jobQueue.enqueue({ type: "huge", payload: null });
  await waitFor("the job to complete", async () => (await app.jobQueue.get(job.id))?.status === "completed");

  const socket = connect(Number(address.port), address.hostname);
  t.after(() => socket.destroy());
  let received = 0;
  let resumed = false;
  socket.on("data", (chunk: Buffer) => {
    received += chunk.length;
    // Take the first bytes, then stop reading at once, so the server's writes back up. (Pausing
    // after a poll let a fast machine read the whole frame first, and nothing stalled.)
    if (!resumed) socket.pause();
  });
  socket.write(`GET /stalling/status/${job.id}/events HTTP/1.1\r\nhost: test\r\n\r\n`);
  await waitFor("the first bytes", () => received > 0);
  const cut = await waitFor("the server to cut the stalled stream", () =>
    logs
      .lines()
      .find(
        (line) =>
          line.msg === "request abandoned by the client" && line.path === "/stalling/status/:job_id/events",
      ),
  );
  assert.equal(cut.status, 499);
  const closed = new Promise((resolve) => socket.once("close", resolve));
  resumed = true;
  socket.resume();
  await closed;
  assert.ok(
    received < resultBytes,
    `the stream was cut short: ${received} bytes of more than ${resultBytes}`,
  );
});
