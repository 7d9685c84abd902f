// Issue 11, finding 1: a search (or an ingest) must never hold the event loop. The real app over
// HTTP on a real SQLite store of more than 100 MB of text, with /health polled every 50 ms.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { App } from "../../src/app.ts";
import { startJobWorker } from "../../src/jobs/start-job-worker.ts";
import type { KnowledgeStore } from "../../src/knowledge/knowledge-store.ts";
import { buildTestApp } from "../support/build-test-app.ts";
import { textChunks } from "../support/text-chunks.ts";
import { waitFor } from "../support/wait-for.ts";

const COMMON_WORDS = (
  "time people year day thing world life hand part child woman place work week case point " +
  "government company number group problem fact water river house night ship stone road city"
).split(" ");
/** Sixteen words found in nearly every chunk: the most a query may count, each a long posting list. */
const HEAVY_QUERY = COMMON_WORDS.slice(0, 16).join(" ");
const CHUNK_CHARS = 1150;
const CHUNKS_PER_DOCUMENT = 2000;
const DOCUMENTS = 45; // 45 x 2000 x 1150 characters: 103 MB of text
const POLL_INTERVAL_MS = 50;
const HEALTH_BUDGET_MS = 100;

const dataDir = mkdtempSync(path.join(tmpdir(), "knowledge-load-"));
after(() => rmSync(dataDir, { recursive: true, force: true }));

/** Deterministic chunks: common words mixed with a few thousand rare ones, like real prose. */
function sampleChunks(count: number): string[] {
  let seed = 11;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) & 0x7fff_ffff;
    return seed / 0x7fff_ffff;
  };
  const rare = Array.from({ length: 3000 }, (_, index) => `w${index.toString(36)}q`);
  return Array.from({ length: count }, () => {
    const words: string[] = [];
    let length = 0;
    while (length < CHUNK_CHARS) {
      const pool = random() < 0.3 ? COMMON_WORDS : rare;
      const word = pool[Math.floor(random() * pool.length)];
      words.push(word);
      length += word.length + 1;
    }
    return words.join(" ");
  });
}

/** Bulk-loads the base through the store itself, in large batches (its writer thread does the work). */
async function buildKnowledgeBase(store: KnowledgeStore): Promise<number> {
  const chunks = sampleChunks(CHUNKS_PER_DOCUMENT);
  let characters = 0;
  for (let document = 0; document < DOCUMENTS; document += 1) {
    const id = `doc_bulk_${document}`;
    // Rotated per document, so no two documents are the same text.
    const text = chunks.map((_, index) => chunks[(index * 7 + document * 13) % chunks.length]);
    await store.beginDocument({
      id,
      collection: "default",
      source: `bulk-${document}.txt`,
      contentType: "text/plain",
      bytes: text.length * CHUNK_CHARS,
      characters: text.length * CHUNK_CHARS,
      jobId: id,
    });
    await store.appendChunks(id, 0, textChunks(text));
    await store.publishDocument(id);
    characters += text.reduce((sum, chunk) => sum + chunk.length, 0);
  }
  await store.beginDocument({
    id: "doc_rare",
    collection: "default",
    source: "rare.txt",
    contentType: "text/plain",
    bytes: 40,
    characters: 40,
    jobId: "rare",
  });
  await store.appendChunks("doc_rare", 0, textChunks(["The zeppelin moored above the harbour."]));
  await store.publishDocument("doc_rare");
  return characters;
}

/**
 * Polls /health every 50 ms until stopped. Each poll's latency counts from when it was due, not
 * from when it was sent, so an event loop that is held (the poll's timer fires late) counts too.
 */
function pollHealth(baseUrl: string) {
  const latencies: number[] = [];
  const failures: string[] = [];
  let running = true;
  const started = performance.now();
  const done = (async () => {
    for (let poll = 0; running; poll += 1) {
      const due = started + poll * POLL_INTERVAL_MS;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const response = await fetch(`${baseUrl}/health`).catch((error: unknown) => error as Error);
      if (response instanceof Error) failures.push(response.message);
      else {
        if (response.status !== 200) failures.push(`status ${response.status}`);
        await response.arrayBuffer();
      }
      latencies.push(performance.now() - due);
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
      const sorted = [...latencies].sort((a, b) => a - b);
      return {
        polls: latencies.length,
        failures,
        max: sorted.at(-1) ?? 0,
        p50: sorted[Math.floor(sorted.length / 2)] ?? 0,
      };
    },
  };
}

async function listen(app: App): Promise<string> {
  await app.listen({ port: 0, host: "127.0.0.1" });
  const address = app.server.address();
  assert.ok(address !== null && typeof address === "object");
  return `http://127.0.0.1:${address.port}`;
}

let built: { characters: number; buildMs: number } | undefined;

before(async () => {
  const { app } = await buildTestApp({ environment: { DATA_DIR: dataDir } });
  try {
    const startedAt = performance.now();
    const characters = await buildKnowledgeBase(app.knowledgeStore);
    built = { characters, buildMs: performance.now() - startedAt };
  } finally {
    await app.close();
  }
});

test("8 concurrent heavy searches over 100 MB of text: /health answers every 50 ms poll within 100 ms", async (t) => {
  assert.ok(built && built.characters >= 100_000_000, `built ${built?.characters} characters`);
  t.diagnostic(
    `knowledge base: ${(built.characters / 1e6).toFixed(1)} MB of text in ${Math.round(built.buildMs)} ms`,
  );
  // A budget no heavy search reaches: this test is about the event loop, the next about the budget.
  const { app } = await buildTestApp({ environment: { DATA_DIR: dataDir, SEARCH_TIMEOUT_MS: "120000" } });
  t.after(() => app.close());
  const baseUrl = await listen(app);

  const poller = pollHealth(baseUrl);
  await sleep(200);
  const searchesStarted = performance.now();
  const searches = await Promise.all(
    Array.from({ length: 8 }, async () => {
      const response = await fetch(
        `${baseUrl}/knowledge/search?q=${encodeURIComponent(HEAVY_QUERY)}&limit=50`,
      );
      return { status: response.status, body: (await response.json()) as { results: unknown[] } };
    }),
  );
  const searchMs = performance.now() - searchesStarted;
  const health = await poller.stop();
  t.diagnostic(
    `8 searches took ${Math.round(searchMs)} ms; /health: ${health.polls} polls, p50 ${health.p50.toFixed(1)} ms, max ${health.max.toFixed(1)} ms`,
  );

  for (const search of searches) {
    assert.equal(search.status, 200);
    assert.equal(search.body.results.length, 50);
  }
  assert.deepEqual(health.failures, []);
  assert.ok(health.polls >= Math.floor(searchMs / POLL_INTERVAL_MS), `${health.polls} polls`);
  assert.ok(health.max < HEALTH_BUDGET_MS, `the slowest /health poll took ${health.max.toFixed(1)} ms`);
});

test("an ingest of a 10 MiB file keeps /health within 100 ms", async (t) => {
  const { app, config } = await buildTestApp({
    environment: { DATA_DIR: dataDir, INGEST_MAX_BYTES: String(11 * 1_048_576) },
  });
  t.after(() => app.close());
  const worker = startJobWorker({
    config,
    jobQueue: app.jobQueue,
    knowledgeStore: app.knowledgeStore,
    logger: app.log as never,
  });
  t.after(() => worker.stop({ timeoutMs: 0 }));
  // Paragraphs longer than a chunk, so chunking splits them into sentences (its slow path).
  const sentences = sampleChunks(400).map((chunk) => `${chunk.slice(0, 180)}.`);
  const paragraph = Array.from({ length: 20 }, (_, index) => sentences[index % sentences.length]).join(" ");
  const paragraphs: string[] = [];
  for (let size = 0, index = 0; size < 10 * 1_048_576; index += 1) {
    const next = `${paragraph.slice(index % 97)}\n\n`;
    paragraphs.push(next);
    size += next.length;
  }
  const body = paragraphs.join("").slice(0, 10 * 1_048_576);
  await mkdir(config.ingestRoot, { recursive: true });
  writeFileSync(path.join(config.ingestRoot, "big.txt"), body);
  const baseUrl = await listen(app);

  const poller = pollHealth(baseUrl);
  await sleep(200);
  const accepted = await fetch(`${baseUrl}/ingest`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ source: "big.txt" }),
  });
  assert.equal(accepted.status, 202);
  const { job_id: jobId } = (await accepted.json()) as { job_id: string };
  const ingestStarted = performance.now();
  const finished = await waitFor(
    "the ingest to finish",
    async () => {
      const status = (await (await fetch(`${baseUrl}/status/${jobId}`)).json()) as {
        status: string;
        result?: { chunks: number; bytes: number };
      };
      return ["completed", "failed"].includes(status.status) ? status : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  );
  const ingestMs = performance.now() - ingestStarted;
  const health = await poller.stop();
  t.diagnostic(
    `10 MiB ingest took ${Math.round(ingestMs)} ms (${finished.result?.chunks} chunks); /health: ${health.polls} polls, p50 ${health.p50.toFixed(1)} ms, max ${health.max.toFixed(1)} ms`,
  );
  assert.equal(finished.status, "completed");
  assert.equal(finished.result?.bytes, 10 * 1_048_576);
  assert.deepEqual(health.failures, []);
  assert.ok(health.max < HEALTH_BUDGET_MS, `the slowest /health poll took ${health.max.toFixed(1)} ms`);
});

test("a search past SEARCH_TIMEOUT_MS answers 503 SEARCH_TIMEOUT with Retry-After and frees its thread", async (t) => {
  const { app } = await buildTestApp({ environment: { DATA_DIR: dataDir, SEARCH_TIMEOUT_MS: "150" } });
  t.after(() => app.close());
  const baseUrl = await listen(app);
  // Warm the search threads, so the budget below is spent on the query, not on starting a thread.
  await Promise.all(
    [1, 2].map(() => fetch(`${baseUrl}/knowledge/search?q=zeppelin`).then((r) => r.arrayBuffer())),
  );

  const started = performance.now();
  const timedOut = await Promise.all(
    [1, 2].map(async () => {
      const response = await fetch(`${baseUrl}/knowledge/search?q=${encodeURIComponent(HEAVY_QUERY)}`);
      return {
        status: response.status,
        retryAfter: response.headers.get("retry-after"),
        body: (await response.json()) as { error: { code: string } },
      };
    }),
  );
  const answeredMs = performance.now() - started;
  for (const response of timedOut) {
    assert.equal(response.status, 503);
    assert.equal(response.body.error.code, "SEARCH_TIMEOUT");
    assert.ok(Number(response.retryAfter) >= 1, `Retry-After ${response.retryAfter}`);
  }
  assert.ok(answeredMs < 1000, `answered after ${Math.round(answeredMs)} ms`);

  // Both threads were stopped: the process goes quiet rather than finishing the two queries. The
  // pool starts their replacements at once, which takes a few hundred ms of CPU on a slow machine
  // (279-368 ms seen here), so the quiet is measured after the first 500 ms: 7-8 ms seen then,
  // and 233 ms with the threads left running.
  await sleep(500);
  const cpuBefore = process.cpuUsage();
  await sleep(500);
  const cpu = process.cpuUsage(cpuBefore);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  t.diagnostic(`CPU from 500 to 1,000 ms after the timeouts: ${Math.round(cpuMs)} ms`);
  assert.ok(cpuMs < 100, `${Math.round(cpuMs)} ms of CPU: a stopped search is still running`);

  // And the pool serves the next search with fresh threads.
  const next = await fetch(`${baseUrl}/knowledge/search?q=zeppelin`);
  assert.equal(next.status, 200);
  const body = (await next.json()) as { results: { document_id: string }[] };
  assert.deepEqual(
    body.results.map((result) => result.document_id),
    ["doc_rare"],
  );
});
