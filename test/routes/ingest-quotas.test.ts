// Ingest's quotas and what it shows, over the real app: the queue cap, the disk floor, inline text
// over the cap, source URLs without their query, refused URLs without an address.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readdirSync, statSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { test } from "node:test";
import { BullmqJobQueue } from "../../src/jobs/bullmq-job-queue.ts";
import type { JobQueue } from "../../src/jobs/job-queue.ts";
import { startJobWorker } from "../../src/jobs/start-job-worker.ts";
import { buildTestApp } from "../support/build-test-app.ts";
import { requireRedis, TEST_REDIS_URL } from "../support/require-redis.ts";
import { waitFor } from "../support/wait-for.ts";

type Context = { after: (callback: () => unknown) => void };

async function listeningApp(t: Context, environment: Record<string, string> = {}, jobQueue?: JobQueue) {
  const built = await buildTestApp({ environment: { LOG_LEVEL: "silent", ...environment }, jobQueue });
  t.after(() => built.app.close());
  const address = await built.app.listen({ port: 0, host: "127.0.0.1" });
  return { ...built, address };
}

function ingest(address: string, body: Record<string, string>): Promise<Response> {
  return fetch(`${address}/ingest`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

/** Every file under `folder` with its size and modification time. */
function snapshot(folder: string): Record<string, string> {
  const entries: Record<string, string> = {};
  for (const name of readdirSync(folder, { recursive: true }) as string[]) {
    const stats = statSync(path.join(folder, name));
    entries[name] = `${stats.size} ${stats.mtimeMs}`;
  }
  return entries;
}

for (const backend of ["sqlite", "bullmq"] as const) {
  test(`JOBS_MAX_QUEUED + 1 concurrent ingests give exactly one 429 QUEUE_FULL, with Retry-After (${backend})`, async (t) => {
    let jobQueue: BullmqJobQueue | undefined;
    if (backend === "bullmq") {
      await requireRedis();
      // A queue of its own, deleted afterwards (after the app, which leaves a given queue open).
      jobQueue = new BullmqJobQueue({
        redisUrl: TEST_REDIS_URL,
        name: `test-${randomUUID()}`,
        prefix: "llm-api-test",
        attempts: 1,
        leaseMs: 2000,
        backoffMs: 50,
        retentionMs: 3_600_000,
      });
      const owned = jobQueue;
      t.after(async () => {
        await owned.destroy();
        await owned.close();
      });
    }
    const { app, address } = await listeningApp(t, { JOBS_MAX_QUEUED: "5" }, jobQueue);
    const responses = await Promise.all(
      Array.from({ length: 6 }, (_, index) =>
        ingest(address, { source: `note-${index}.txt`, text: "words" }),
      ),
    );
    const statuses = responses.map((response) => response.status).sort();
    assert.deepEqual(statuses, [202, 202, 202, 202, 202, 429]);
    const refused = responses.find((response) => response.status === 429) as Response;
    assert.ok(Number(refused.headers.get("retry-after")) > 0);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, "QUEUE_FULL");
    assert.match(body.error.message, /limit of 5 queued jobs/);
    assert.equal((await app.jobQueue.counts()).queued, 5);

    const metrics = await (await fetch(`${address}/metrics`)).text();
    assert.match(metrics, /^llm_api_job_queue_max_queued 5$/m);
    assert.match(metrics, /^llm_api_job_queue_depth\{state="queued"\} 5$/m);
    assert.match(metrics, /^llm_api_rejected_requests_total\{status="429",reason="queue_full"\} 1$/m);
  });
}

test("below DATA_DIR_MIN_FREE_BYTES an ingest answers 507 and writes nothing; /ready says why", async (t) => {
  // A floor above any disk's free space.
  const { app, address, config } = await listeningApp(t, { DATA_DIR_MIN_FREE_BYTES: String(2 ** 52) });
  const before = snapshot(config.dataDir);
  const response = await ingest(address, { source: "note.txt", text: "words that must not be stored" });
  assert.equal(response.status, 507);
  assert.ok(Number(response.headers.get("retry-after")) > 0);
  assert.equal(((await response.json()) as { error: { code: string } }).error.code, "INSUFFICIENT_STORAGE");
  assert.deepEqual(snapshot(config.dataDir), before, "nothing in DATA_DIR changed");
  assert.equal((await app.jobQueue.list({ limit: 10, offset: 0 })).total, 0);

  const ready = await fetch(`${address}/ready`);
  assert.equal(ready.status, 503);
  assert.deepEqual(await ready.json(), { status: "not_ready", failing: ["data_dir_free_space"] });

  const metrics = await (await fetch(`${address}/metrics`)).text();
  const free = Number(/^llm_api_data_dir_free_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(metrics)?.[1]);
  assert.ok(free > 0 && free < 2 ** 52, `free bytes: ${free}`);
  assert.match(metrics, /^llm_api_data_dir_min_free_bytes 4503599627370496$/m);
  assert.match(metrics, /^llm_api_rejected_requests_total\{status="507",reason="insufficient_storage"\} 1$/m);
});

test("above the floor /ready is ready; inline text over INGEST_MAX_BYTES is 413 at once", async (t) => {
  const { address } = await listeningApp(t, { INGEST_MAX_BYTES: "1000" });
  assert.equal((await fetch(`${address}/ready`)).status, 200);
  // 500 two-byte characters: 1,000 bytes, the cap exactly; one more byte is over it.
  assert.equal((await ingest(address, { source: "fits.txt", text: "é".repeat(500) })).status, 202);
  const over = await ingest(address, { source: "over.txt", text: `${"é".repeat(500)}x` });
  assert.equal(over.status, 413);
  const body = (await over.json()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, "SOURCE_TOO_LARGE");
  assert.match(body.error.message, /1001 bytes, more than INGEST_MAX_BYTES \(1000\)/);
});

test("/jobs, /status and the events stream show a source URL without its query or fragment", async (t) => {
  const { app, address } = await listeningApp(t);
  // Credentials in the URL itself are refused at once (400), so tokens travel in the query.
  const secretUrl = "https://docs.example.com/guide/page.html?access_token=s3cr3t-t0ken&user=reader#part";
  const response = await ingest(address, { source: secretUrl });
  assert.equal(response.status, 202);
  const { job_id } = (await response.json()) as { job_id: string };
  const shown = "https://docs.example.com/guide/page.html";

  const jobs = await (await fetch(`${address}/jobs`)).text();
  const status = await (await fetch(`${address}/status/${job_id}`)).text();
  const events = await new Promise<string>((resolve, reject) => {
    http
      .get(`${address}/status/${job_id}/events`, (stream) => {
        stream.setEncoding("utf8");
        stream.once("data", (chunk: string) => {
          stream.destroy();
          resolve(chunk);
        });
      })
      .on("error", reject);
  });
  for (const [where, text] of Object.entries({ jobs, status, events })) {
    assert.ok(text.includes(shown), `${where} shows the scheme, host and path`);
    for (const secret of ["s3cr3t-t0ken", "access_token", "reader", "#part", "?"]) {
      assert.ok(!text.includes(secret), `${where} holds no ${secret}`);
    }
  }
  // The worker still gets the URL as given.
  const job = await app.jobQueue.get(job_id);
  assert.ok(job !== undefined);
  assert.equal((job.payload as { source: string }).source, secretUrl);
  assert.equal(job.source, shown);
});

test("a URL whose host resolves to loopback fails without naming the address", async (t) => {
  const { app, address } = await listeningApp(t, { JOB_ATTEMPTS: "1" });
  const worker = startJobWorker({
    config: app.config,
    jobQueue: app.jobQueue,
    knowledgeStore: app.knowledgeStore,
    logger: app.log as never,
  });
  t.after(() => worker.stop({ timeoutMs: 0 }));
  let connections = 0;
  const canary = http.createServer((_request, reply) => reply.end("internal"));
  canary.on("connection", () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => canary.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise((resolve) => canary.close(resolve)));
  const port = (canary.address() as AddressInfo).port;

  const { job_id } = (await (await ingest(address, { source: `http://localhost:${port}/` })).json()) as {
    job_id: string;
  };
  const done = await waitFor("the job to fail", async () => {
    const body = (await (await fetch(`${address}/status/${job_id}`)).json()) as Record<string, string>;
    return body.status === "failed" ? body : undefined;
  });
  assert.equal(done.error_code, "SOURCE_REFUSED");
  assert.match(done.error, /not a public address/);
  assert.doesNotMatch(done.error, /127\.0\.0\.1|::1|\d+\.\d+\.\d+\.\d+/);
  assert.equal(connections, 0);
});
