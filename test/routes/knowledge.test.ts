import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { startJobWorker } from "../../src/jobs/start-job-worker.ts";
import { PostgresKnowledgeStore } from "../../src/knowledge/stores/postgres-knowledge-store.ts";
import { buildTestApp } from "../support/build-test-app.ts";
import { knowledgeStores, type StoreOptions, storeDocument } from "../support/knowledge-stores.ts";
import { waitFor } from "../support/wait-for.ts";

type TestContext = { after: (callback: () => unknown) => void };

for (const [name, openStore] of Object.entries(knowledgeStores)) {
  describe(`knowledge routes on ${name}`, () => {
    async function appWithStore(t: TestContext, storeOptions?: StoreOptions) {
      const { store, destroy } = await openStore(storeOptions);
      const { app } = await buildTestApp({ knowledgeStore: store });
      t.after(async () => {
        await app.close();
        await destroy();
      });
      return { app, store };
    }

    test("GET /knowledge/search answers the query and ranked chunks with source, index, text, snippet and score", async (t) => {
      const { app, store } = await appWithStore(t);
      await storeDocument(store, "doc_light", "keepers.md", [
        "Keepers lit the lighthouse lamps at dusk.",
        "The lighthouse stood on a rock.",
      ]);
      await storeDocument(store, "doc_birds", "birds.md", ["Gulls nest on the rock."]);

      const response = await app.inject({
        method: "GET",
        url: "/knowledge/search?q=lighthouse%20lamps&limit=5",
        headers: { "x-request-id": "search-1" },
      });
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers["x-request-id"], "search-1");
      const body = response.json();
      assert.equal(body.query, "lighthouse lamps");
      assert.deepEqual(
        body.results.map((result: { document_id: string; chunk_index: number }) => [
          result.document_id,
          result.chunk_index,
        ]),
        [
          ["doc_light", 0],
          ["doc_light", 1],
        ],
      );
      const [best] = body.results;
      assert.deepEqual(Object.keys(best).sort(), [
        "chunk_index",
        "document_id",
        "score",
        "snippet",
        "source",
        "text",
      ]);
      assert.equal(best.source, "keepers.md");
      assert.equal(best.text, "Keepers lit the lighthouse lamps at dusk.");
      assert.match(best.snippet, /\*\*lighthouse\*\*/);
      assert.ok(best.score >= body.results[1].score);

      const limited = (await app.inject({ method: "GET", url: "/knowledge/search?q=rock&limit=1" })).json();
      assert.equal(limited.results.length, 1);
      const nothing = (await app.inject({ method: "GET", url: "/knowledge/search?q=zeppelin" })).json();
      assert.deepEqual(nothing, { query: "zeppelin", results: [] });
    });

    test("a document ingested through POST /ingest is listed and found by /knowledge/search", async (t) => {
      const { app } = await appWithStore(t);
      const worker = startJobWorker({
        config: app.config,
        jobQueue: app.jobQueue,
        knowledgeStore: app.knowledgeStore,
        logger: app.log as never,
      });
      t.after(() => worker.stop({ timeoutMs: 0 }));
      const text = Array.from({ length: 30 }, (_, index) => `Note ${index} about the cormorant colony.`).join(
        "\n\n",
      );
      const { job_id } = (
        await app.inject({ method: "POST", url: "/ingest", payload: { source: "birds.txt", text } })
      ).json();
      const done = await waitFor(`job ${job_id} to complete`, async () => {
        const status = (await app.inject({ method: "GET", url: `/status/${job_id}` })).json();
        return status.status === "completed" || status.status === "failed" ? status : undefined;
      });
      assert.equal(done.status, "completed", JSON.stringify(done));
      const listed = (await app.inject({ method: "GET", url: "/knowledge/documents" })).json();
      assert.deepEqual(
        listed.documents.map((document: { document_id: string; state: string }) => [
          document.document_id,
          document.state,
        ]),
        [[done.result.document_id, "ready"]],
      );
      const found = (await app.inject({ method: "GET", url: "/knowledge/search?q=cormorants" })).json();
      assert.ok(found.results.length > 0);
      assert.equal(found.results[0].document_id, done.result.document_id);
      assert.equal(found.results[0].source, "birds.txt");
    });

    test("an ingest past KNOWLEDGE_MAX_BYTES fails its job with KNOWLEDGE_STORE_FULL, once, and stores nothing of it", async (t) => {
      const { app } = await appWithStore(t, { maxBytes: 20_000 });
      const worker = startJobWorker({
        config: app.config,
        jobQueue: app.jobQueue,
        knowledgeStore: app.knowledgeStore,
        logger: app.log as never,
      });
      t.after(() => worker.stop({ timeoutMs: 0 }));
      await storeDocument(app.knowledgeStore, "doc_small", "small.txt", ["A few words about wrens."]);
      const before = await app.knowledgeStore.storedBytes();
      // 40 chunks of about 1,000 bytes: the first batches fit, a later one does not.
      const text = Array.from(
        { length: 40 },
        (_, index) => `Paragraph ${index} on herons. ${"x".repeat(1000)}`,
      ).join("\n\n");
      const { job_id } = (
        await app.inject({ method: "POST", url: "/ingest", payload: { source: "herons.txt", text } })
      ).json();
      const done = await waitFor(`job ${job_id} to finish`, async () => {
        const status = (await app.inject({ method: "GET", url: `/status/${job_id}` })).json();
        return status.status === "completed" || status.status === "failed" ? status : undefined;
      });
      assert.equal(done.status, "failed", JSON.stringify(done));
      assert.equal(done.error_code, "KNOWLEDGE_STORE_FULL");
      assert.match(done.error, /KNOWLEDGE_MAX_BYTES/);
      assert.equal(done.attempts, 1, "not retried");
      assert.equal(await app.knowledgeStore.storedBytes(), before);
      const listed = (await app.inject({ method: "GET", url: "/knowledge/documents" })).json();
      assert.deepEqual(
        listed.documents.map((document: { document_id: string }) => document.document_id),
        ["doc_small"],
      );
      const found = (await app.inject({ method: "GET", url: "/knowledge/search?q=herons" })).json();
      assert.deepEqual(found.results, []);
    });

    test("a missing, blank or over-long query and an out-of-range limit are 400 VALIDATION_FAILED", async (t) => {
      const { app } = await appWithStore(t);
      for (const url of [
        "/knowledge/search",
        "/knowledge/search?q=",
        "/knowledge/search?q=%20%20%20",
        `/knowledge/search?q=${"a".repeat(1001)}`,
        "/knowledge/search?q=ok&limit=0",
        "/knowledge/search?q=ok&limit=51",
        "/knowledge/search?q=ok&limit=ten",
      ]) {
        const response = await app.inject({ method: "GET", url });
        assert.equal(response.statusCode, 400, url);
        assert.equal(response.json().error.code, "VALIDATION_FAILED", url);
      }
      const longest = await app.inject({ method: "GET", url: `/knowledge/search?q=${"a".repeat(1000)}` });
      assert.equal(longest.statusCode, 200);
    });

    test("GET /knowledge/documents pages newest first; DELETE removes a document, then 404s", async (t) => {
      const { app, store } = await appWithStore(t);
      await storeDocument(store, "doc_1", "one.txt", ["First about herons."]);
      // Distinct creation times, so "newest first" has one answer.
      const first = await store.getDocument("doc_1");
      await waitFor("the clock to move on", () => Date.now() > (first?.createdAt ?? Infinity), {
        intervalMs: 1,
      });
      await storeDocument(store, "doc_2", "two.txt", ["Second about herons."]);

      const page = (await app.inject({ method: "GET", url: "/knowledge/documents?limit=1" })).json();
      assert.equal(page.total, 2);
      assert.equal(page.limit, 1);
      assert.equal(page.offset, 0);
      assert.equal(page.documents.length, 1);
      const [newest] = page.documents;
      assert.equal(newest.document_id, "doc_2");
      assert.equal(newest.source, "two.txt");
      assert.equal(newest.state, "ready");
      assert.equal(newest.chunks, 1);
      assert.equal(newest.job_id, "doc_2");
      assert.ok(!Number.isNaN(Date.parse(newest.created_at)));
      const next = (await app.inject({ method: "GET", url: "/knowledge/documents?limit=1&offset=1" })).json();
      assert.equal(next.documents[0].document_id, "doc_1");
      assert.equal(
        (await app.inject({ method: "GET", url: "/knowledge/documents?limit=0" })).statusCode,
        400,
      );

      const deleted = await app.inject({ method: "DELETE", url: "/knowledge/documents/doc_2" });
      assert.equal(deleted.statusCode, 204);
      assert.equal(deleted.body, "");
      const searched = (await app.inject({ method: "GET", url: "/knowledge/search?q=herons" })).json();
      assert.deepEqual(
        searched.results.map((result: { document_id: string }) => result.document_id),
        ["doc_1"],
      );
      const again = await app.inject({ method: "DELETE", url: "/knowledge/documents/doc_2" });
      assert.equal(again.statusCode, 404);
      assert.equal(again.json().error.code, "NOT_FOUND");
      assert.equal((await app.inject({ method: "GET", url: "/knowledge/documents" })).json().total, 1);
    });
  });
}

test("the knowledge routes are in /openapi.json", async (t) => {
  const { app } = await buildTestApp();
  t.after(() => app.close());
  const document = (await app.inject({ method: "GET", url: "/openapi.json" })).json();
  assert.ok(document.paths["/knowledge/search"]?.get);
  assert.ok(document.paths["/knowledge/documents"]?.get);
  assert.ok(document.paths["/knowledge/documents/{id}"]?.delete);
  const parameters = document.paths["/knowledge/search"].get.parameters.map((p: { name: string }) => p.name);
  assert.deepEqual(parameters.sort(), ["collection", "limit", "q"]);
});

test("an unreachable knowledge store is a 503 NOT_READY that hides the cause, and /ready says not ready", async (t) => {
  // Nothing listens on port 1: the connection is refused at once.
  const store = new PostgresKnowledgeStore({
    connectionString: "postgres://postgres@127.0.0.1:1/test",
    connectionTimeoutMs: 2000,
  });
  const { app } = await buildTestApp({ knowledgeStore: store });
  t.after(async () => {
    await app.close();
    await store.close();
  });
  for (const [method, url] of [
    ["GET", "/knowledge/search?q=anything"],
    ["GET", "/knowledge/documents"],
    ["DELETE", "/knowledge/documents/doc_1"],
  ] as const) {
    const response = await app.inject({ method, url });
    assert.equal(response.statusCode, 503, url);
    assert.equal(response.json().error.code, "NOT_READY");
    assert.doesNotMatch(response.body, /ECONNREFUSED|127\.0\.0\.1/);
    assert.ok(response.headers["retry-after"]);
  }
  assert.equal((await app.inject({ method: "GET", url: "/ready" })).statusCode, 503);
});
