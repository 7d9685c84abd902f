// npm run eval:vectors [-- --sizes 1000,5000,20000 --dimensions 384,1536 --stores sqlite,postgres]
// How long one exact vector search (searchByVector, every vector compared) takes as the corpus
// grows, on each store: the median and p95 of 15 searches per size, after one warm-up search.
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import type { KnowledgeStore, NewChunk } from "../src/knowledge/knowledge-store.ts";
import { PostgresKnowledgeStore } from "../src/knowledge/stores/postgres-knowledge-store.ts";
import { SqliteKnowledgeStore } from "../src/knowledge/stores/sqlite-knowledge-store.ts";

const { values } = parseArgs({
  options: {
    sizes: { type: "string", default: "1000,5000,20000" },
    dimensions: { type: "string", default: "384,1536" },
    stores: { type: "string", default: "sqlite,postgres" },
    database: {
      type: "string",
      default: process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test",
    },
  },
});
const sizes = values.sizes.split(",").map(Number);
const dimensionsList = values.dimensions.split(",").map(Number);
const SEARCHES = 15;
const MODEL = "scale-test";

/** A deterministic pseudo-random unit vector (xorshift), so runs compare. */
function unitVector(seed: number, dimensions: number): number[] {
  let state = seed * 2654435761 + 1;
  const vector: number[] = [];
  let sum = 0;
  for (let index = 0; index < dimensions; index += 1) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const value = ((state >>> 0) / 0xffffffff) * 2 - 1;
    vector.push(value);
    sum += value * value;
  }
  const length = Math.sqrt(sum);
  return vector.map((value) => Number((value / length).toFixed(6)));
}

async function fill(store: KnowledgeStore, from: number, to: number, dimensions: number): Promise<void> {
  const id = `doc_${from}`;
  await store.beginDocument({
    id,
    collection: "default",
    source: `scale-${from}`,
    contentType: "text/plain",
    bytes: 1,
    characters: 1,
    jobId: id,
    embeddingModel: MODEL,
  });
  for (let first = from; first < to; first += 250) {
    const chunks: NewChunk[] = [];
    for (let index = first; index < Math.min(to, first + 250); index += 1) {
      chunks.push({ text: `chunk ${index}`, embedding: unitVector(index + 1, dimensions) });
    }
    await store.appendChunks(id, first - from, chunks);
  }
  await store.publishDocument(id);
}

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))];
}

const lines: string[] = [
  `load average at start: ${loadavg()
    .map((value) => value.toFixed(2))
    .join(" ")}`,
  "",
  "| store | dimensions | chunks | search p50 (ms) | p95 (ms) |",
  "|---|---|---|---|---|",
];
for (const storeName of values.stores.split(",")) {
  for (const dimensions of dimensionsList) {
    const folder = mkdtempSync(path.join(tmpdir(), "vector-scale-"));
    const schema = `vector_scale_${process.pid}_${dimensions}`;
    const store: KnowledgeStore =
      storeName === "sqlite"
        ? new SqliteKnowledgeStore({ file: path.join(folder, "k.sqlite"), searchTimeoutMs: 600_000 })
        : new PostgresKnowledgeStore({ connectionString: values.database, schema, searchTimeoutMs: 600_000 });
    try {
      let stored = 0;
      for (const size of sizes) {
        // Each size adds to the corpus of the one before, as one document per step.
        await fill(store, stored, size, dimensions);
        stored = size;
        const timings: number[] = [];
        for (let search = 0; search <= SEARCHES; search += 1) {
          const query = unitVector(1_000_000 + search, dimensions);
          const started = performance.now();
          const hits = await store.searchByVector(query, { model: MODEL, limit: 10 });
          if (search > 0) timings.push(performance.now() - started);
          if (hits.length !== 10) throw new Error(`expected 10 hits, got ${hits.length}`);
        }
        timings.sort((a, b) => a - b);
        const line = `| ${storeName} | ${dimensions} | ${size} | ${percentile(timings, 0.5).toFixed(1)} | ${percentile(timings, 0.95).toFixed(1)} |`;
        lines.push(line);
        process.stderr.write(`${line}\n`);
      }
    } finally {
      await store.close();
      rmSync(folder, { recursive: true, force: true });
      if (storeName === "postgres") {
        const client = new pg.Client({ connectionString: values.database });
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await client.end();
      }
    }
  }
}
lines.push(
  "",
  `load average at end: ${loadavg()
    .map((value) => value.toFixed(2))
    .join(" ")}`,
);
process.stdout.write(`${lines.join("\n")}\n`);
