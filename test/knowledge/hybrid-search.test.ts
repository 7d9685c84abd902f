// Hybrid search on both stores, against a local server that speaks /v1/embeddings with a
// deterministic embedding (test/support/concept-embedding-server.ts).
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { pino } from "pino";
import { startJobWorker } from "../../src/jobs/start-job-worker.ts";
import { HybridKnowledgeStore } from "../../src/knowledge/hybrid-knowledge-store.ts";
import type { KnowledgeStore } from "../../src/knowledge/knowledge-store.ts";
import { reciprocalRankFusion } from "../../src/knowledge/reciprocal-rank-fusion.ts";
import { reembedDocuments } from "../../src/knowledge/reembed-documents.ts";
import { createWorkerServices } from "../../src/services.ts";
import { buildTestApp } from "../support/build-test-app.ts";
import { startConceptEmbeddingServer } from "../support/concept-embedding-server.ts";
import { knowledgeStores, storeDocument } from "../support/knowledge-stores.ts";
import { testConfig } from "../support/test-config.ts";
import { textChunks } from "../support/text-chunks.ts";
import { waitFor } from "../support/wait-for.ts";

type Context = { after: (callback: () => unknown) => void };
type Result = { document_id: string; chunk_index: number; source: string; score: number; snippet: string };

const DOCUMENTS: Record<string, string[]> = {
  "garage.md": [
    "Fixing your car: take the vehicle to the garage on Mill Road.",
    "The garage closes at six on weekdays.",
  ],
  "holidays.md": ["Annual leave is booked through the people team portal.", "Unused leave carries over."],
  "bikes.md": ["Bicycles may be kept in the shed behind the office.", "The shed code is 4471."],
  "pay.md": ["Salaries are paid on the last working day of the month."],
};

async function hybridApp(t: Context, storeName: keyof typeof knowledgeStores, embeddings = true) {
  const server = await startConceptEmbeddingServer();
  const opened = await knowledgeStores[storeName]();
  const built = await buildTestApp({
    knowledgeStore: opened.store,
    environment: {
      LOG_LEVEL: "silent",
      OPENAI_BASE_URL: server.baseUrl,
      OPENAI_API_KEY: "sk-test",
      LLM_MAX_RETRIES: "2",
      ...(embeddings ? { EMBEDDINGS_MODEL: "openai:concepts-1" } : {}),
    },
  });
  t.after(async () => {
    await built.app.close();
    await opened.destroy();
    await server.close();
  });
  const address = await built.app.listen({ port: 0, host: "127.0.0.1" });
  const search = async (query: string, limit = 10) => {
    const response = await fetch(`${address}/knowledge/search?q=${encodeURIComponent(query)}&limit=${limit}`);
    assert.equal(response.status, 200);
    return ((await response.json()) as { results: Result[] }).results;
  };
  return { ...built, server, inner: opened.store, address, search };
}

async function storeAll(store: KnowledgeStore): Promise<void> {
  for (const [source, chunks] of Object.entries(DOCUMENTS)) {
    await storeDocument(store, `doc_${source.replace(".md", "")}`, source, chunks);
  }
}

for (const storeName of ["SQLite", "PostgreSQL"] as const) {
  describe(`hybrid search on ${storeName}`, () => {
    test("chunks are embedded at ingest in batches; a query only the vector side can answer is found", async (t) => {
      const { app, server, search, inner } = await hybridApp(t, storeName);
      assert.ok(app.knowledgeStore instanceof HybridKnowledgeStore);
      // The first call fails with a 503 and is retried.
      server.failNext(1);
      await storeAll(app.knowledgeStore);
      assert.deepEqual(server.batches, [2, 2, 2, 1], "one embeddings call per batch of chunks");
      const document = await inner.getDocument("doc_garage");
      assert.equal(document?.embeddingModel, "openai:concepts-1");

      // No word in common with the chunk: full-text search alone finds nothing.
      const question = "automobile mending";
      assert.deepEqual(await inner.search(question), []);
      const results = await search(question);
      assert.equal(results[0].source, "garage.md");
      assert.equal(results[0].chunk_index, 0);
      assert.match(results[0].snippet, /^Fixing your car/);
      assert.equal((await search("vacation"))[0].source, "holidays.md");
    });

    test("the ranking is the reciprocal rank fusion of the full-text and the vector rankings", async (t) => {
      const { app, search, inner } = await hybridApp(t, storeName);
      await storeAll(app.knowledgeStore);
      const question = "where can I keep my bike at the office garage";
      const embedder = (app.knowledgeStore as HybridKnowledgeStore).embedder;
      const textHits = await inner.search(question, { limit: 30 });
      const [vector] = await embedder.embed([question]);
      const vectorHits = await inner.searchByVector(vector, { limit: 30, model: embedder.model });
      const key = (hit: { documentId: string; chunkIndex: number }) => `${hit.documentId}#${hit.chunkIndex}`;
      const textKeys = new Set(textHits.map(key));
      const vectorKeys = new Set(vectorHits.map(key));
      // Both lists contribute something the other lacks, so the fused order shows the fusion.
      assert.ok(
        [...vectorKeys].some((hit) => !textKeys.has(hit)),
        "a chunk only the vectors find",
      );
      assert.ok(textHits.length > 0, "full-text finds some");

      const results = await search(question, 5);
      const expected = reciprocalRankFusion([textHits, vectorHits], 5);
      assert.deepEqual(
        results.map((result) => `${result.document_id}#${result.chunk_index}`),
        expected.map(key),
      );
      for (const [index, result] of results.entries())
        assert.ok(Math.abs(result.score - expected[index].score) < 1e-9);
      assert.equal(results[0].source, "bikes.md", "the chunk both lists rank high comes first");
    });

    test("owners: both sides of a hybrid search see only the owner's documents, and re-embedding keeps the owner", async (t) => {
      const { app, inner } = await hybridApp(t, storeName);
      const store = app.knowledgeStore as HybridKnowledgeStore;
      // Written without vectors, as before EMBEDDINGS_MODEL was set, by key A.
      await inner.beginDocument({
        id: "doc_garage",
        collection: "default",
        source: "garage.md",
        contentType: "text/plain",
        bytes: 1,
        characters: 1,
        jobId: "garage",
        owner: "key_a",
      });
      await inner.appendChunks("doc_garage", 0, textChunks(DOCUMENTS["garage.md"]));
      await inner.publishDocument("doc_garage");
      await storeDocument(store, "doc_bikes", "bikes.md", DOCUMENTS["bikes.md"]);
      const done = await reembedDocuments({
        store,
        embedder: store.embedder,
        batchSize: 8,
        signal: AbortSignal.timeout(10_000),
        onProgress: async () => {},
      });
      assert.equal(done.documents, 1);
      const garage = await store.getDocument("doc_garage");
      assert.equal(garage?.owner, "key_a", "re-embedding keeps the owner");
      assert.equal(garage?.embeddingModel, "openai:concepts-1");

      // Only the vectors can answer this one, so the owner filter must reach the vector side too.
      const question = "automobile mending";
      assert.deepEqual(await inner.search(question, { owner: "key_a" }), []);
      const sources = async (owner: string | null | undefined) =>
        new Set((await store.search(question, { owner })).map((hit) => hit.source));
      assert.ok((await sources("key_a")).has("garage.md"));
      assert.deepEqual([...(await sources("key_a"))], ["garage.md"], "nothing of another owner");
      assert.ok(!(await sources("key_b")).has("garage.md"));
      assert.ok(!(await sources(null)).has("garage.md"));
      assert.ok((await sources(undefined)).has("garage.md"), "no filter: everyone's");
    });

    test("after the embedding model is set, POST /knowledge/reembed is a job that embeds the documents", async (t) => {
      const plain = await hybridApp(t, storeName, false);
      assert.equal(plain.app.knowledgeStore instanceof HybridKnowledgeStore, false);
      await storeAll(plain.app.knowledgeStore);
      const refused = await fetch(`${plain.address}/knowledge/reembed`, { method: "POST" });
      assert.equal(refused.status, 409);

      // The same store, now with an embedding model: the old documents have no vectors yet.
      const server = await startConceptEmbeddingServer();
      t.after(() => server.close());
      const built = await buildTestApp({
        knowledgeStore: plain.inner,
        environment: {
          LOG_LEVEL: "silent",
          OPENAI_BASE_URL: server.baseUrl,
          OPENAI_API_KEY: "sk-test",
          EMBEDDINGS_MODEL: "openai:concepts-1",
        },
      });
      const worker = startJobWorker({
        config: built.config,
        jobQueue: built.app.jobQueue,
        knowledgeStore: built.app.knowledgeStore,
        logger: built.app.log as never,
      });
      t.after(async () => {
        await worker.stop({ timeoutMs: 0 });
        await built.app.close();
      });
      const address = await built.app.listen({ port: 0, host: "127.0.0.1" });
      const find = async () =>
        (
          (await (await fetch(`${address}/knowledge/search?q=automobile%20mending`)).json()) as {
            results: Result[];
          }
        ).results;
      assert.deepEqual(await find(), [], "full-text alone until the documents are embedded");

      const accepted = await fetch(`${address}/knowledge/reembed`, { method: "POST" });
      assert.equal(accepted.status, 202);
      const { job_id } = (await accepted.json()) as { job_id: string };
      const done = await waitFor("the re-embedding job", async () => {
        const body = (await (await fetch(`${address}/status/${job_id}`)).json()) as {
          status: string;
          result?: { documents: number; chunks: number; embedding_model: string };
        };
        return body.status === "completed" || body.status === "failed" ? body : undefined;
      });
      assert.deepEqual(done.result, { embedding_model: "openai:concepts-1", documents: 4, chunks: 7 });
      assert.equal((await find())[0]?.source, "garage.md");
      assert.deepEqual(await plain.inner.documentsToEmbed("openai:concepts-1", 10), []);
    });
  });
}

test("EMBEDDINGS_MODEL naming a provider without embeddings fails the start, naming the setting", async () => {
  await assert.rejects(
    buildTestApp({
      environment: {
        LOG_LEVEL: "silent",
        ANTHROPIC_API_KEY: "sk-test",
        ANTHROPIC_BASE_URL: "http://127.0.0.1:9/v1",
        EMBEDDINGS_MODEL: "anthropic:claude-fake",
      },
    }),
    /EMBEDDINGS_MODEL anthropic:claude-fake: the anthropic provider offers no embeddings/,
  );
});

test("the standalone worker's services embed at ingest too when EMBEDDINGS_MODEL is set", async (t) => {
  const server = await startConceptEmbeddingServer();
  t.after(() => server.close());
  const config = testConfig({
    OPENAI_BASE_URL: server.baseUrl,
    OPENAI_API_KEY: "sk-test",
    EMBEDDINGS_MODEL: "openai:concepts-1",
  });
  const services = createWorkerServices(config, pino({ level: "silent" }));
  t.after(() => services.close());
  assert.ok(services.knowledgeStore instanceof HybridKnowledgeStore);
  await storeDocument(services.knowledgeStore, "doc_w", "garage.md", DOCUMENTS["garage.md"]);
  assert.deepEqual(server.batches, [2]);
});

test("a models-file model marked embeddings: true embeds the knowledge base when EMBEDDINGS_MODEL is unset", async (t) => {
  const server = await startConceptEmbeddingServer();
  const opened = await knowledgeStores.SQLite();
  const folder = await mkdtemp(path.join(os.tmpdir(), "models-file-"));
  const modelsFile = path.join(folder, "models.yaml");
  await writeFile(
    modelsFile,
    `default: chat
models:
  - name: chat
    deployments:
      - { provider: echo, model: echo }
  - name: concepts
    embeddings: true
    deployments:
      - { provider: openai, model: concepts-1, base_url: "${server.baseUrl}", api_key: sk-test }
`,
  );
  const built = await buildTestApp({
    knowledgeStore: opened.store,
    environment: { LOG_LEVEL: "silent", MODELS_FILE: modelsFile, LLM_MAX_RETRIES: "2" },
  });
  t.after(async () => {
    await built.app.close();
    await opened.destroy();
    await server.close();
    await rm(folder, { recursive: true, force: true });
  });
  assert.ok(built.app.knowledgeStore instanceof HybridKnowledgeStore);
  await storeAll(built.app.knowledgeStore);
  assert.ok(server.batches.length > 0, "the flagged model's deployment embedded the chunks");
  const results = await built.app.knowledgeStore.search("automobile mending");
  assert.equal(results[0]?.source, "garage.md", "a query only the vectors answer is found");
});
