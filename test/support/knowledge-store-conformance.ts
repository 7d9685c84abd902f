// One behaviour, two stores: every KnowledgeStore implementation must pass these tests unchanged.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { KnowledgeStore, NewDocument } from "../../src/knowledge/knowledge-store.ts";
import type { OpenedStore, StoreOptions } from "./knowledge-stores.ts";
import { textChunks } from "./text-chunks.ts";
import { waitFor } from "./wait-for.ts";

export type StoreFactory = (options?: StoreOptions) => Promise<OpenedStore>;

type TestContext = { after: (callback: () => unknown) => void };

async function open(factory: StoreFactory, t: TestContext, options?: StoreOptions): Promise<KnowledgeStore> {
  const { store, destroy } = await factory(options);
  t.after(() => destroy());
  return store;
}

function newDocument(id: string, source: string, overrides: Partial<NewDocument> = {}): NewDocument {
  return {
    id,
    source,
    collection: "default",
    contentType: "text/plain",
    bytes: 100,
    characters: 100,
    jobId: id.replace(/^doc_/, ""),
    ...overrides,
  };
}

/** Begins, writes and publishes a document the way the ingest processor does. */
async function ingest(store: KnowledgeStore, id: string, source: string, chunks: readonly string[]) {
  await store.beginDocument(newDocument(id, source));
  await store.appendChunks(id, 0, textChunks(chunks));
  return store.publishDocument(id);
}

export function describeKnowledgeStoreConformance(name: string, factory: StoreFactory): void {
  describe(`KnowledgeStore conformance: ${name}`, () => {
    test("a document is searchable only once published; a hit carries its source, chunk, text, snippet and score", async (t) => {
      const store = await open(factory, t);
      await store.beginDocument(
        newDocument("doc_1", "keepers.md", { contentType: "text/markdown", bytes: 321, characters: 300 }),
      );
      await store.appendChunks(
        "doc_1",
        0,
        textChunks([
          "Lighthouse keepers trimmed the lamps every night.",
          "Fog horns sounded when ships came near.",
        ]),
      );
      const writing = await store.getDocument("doc_1");
      assert.equal(writing?.state, "writing");
      assert.deepEqual(await store.search("lamps"), []);
      assert.deepEqual(await store.documentsForSource("keepers.md"), []);

      const published = await store.publishDocument("doc_1");
      assert.equal(published.state, "ready");
      assert.equal(published.chunks, 2);
      assert.equal(published.source, "keepers.md");
      assert.equal(published.contentType, "text/markdown");
      assert.equal(published.bytes, 321);
      assert.equal(published.characters, 300);
      assert.equal(published.jobId, "1");
      assert.ok(Math.abs(published.createdAt - Date.now()) < 60_000, `createdAt ${published.createdAt}`);
      assert.deepEqual(await store.getDocument("doc_1"), published);
      assert.deepEqual(await store.documentsForSource("keepers.md"), [published]);

      const hits = await store.search("lamps");
      assert.equal(hits.length, 1);
      const [hit] = hits;
      assert.equal(hit.documentId, "doc_1");
      assert.equal(hit.source, "keepers.md");
      assert.equal(hit.chunkIndex, 0);
      assert.equal(hit.text, "Lighthouse keepers trimmed the lamps every night.");
      assert.match(hit.snippet, /\*\*lamps\*\*/);
      assert.ok(Number.isFinite(hit.score) && hit.score > 0, `score ${hit.score}`);
      assert.equal(await store.getDocument("doc_unknown"), undefined);
    });

    test("search stems words, needs any word not all, ranks the better match first and honours the limit", async (t) => {
      const store = await open(factory, t);
      await ingest(store, "doc_a", "a.txt", [
        "The otter swims in the river.",
        "Otters and beavers share the river; the otter eats fish and the beaver eats bark.",
        "Mountains have snow.",
      ]);
      // "swimming" finds "swims", "otters" finds "otter": both stores stem English.
      assert.deepEqual(
        (await store.search("swimming")).map((hit) => hit.chunkIndex),
        [0],
      );
      const both = await store.search("otters beavers");
      assert.deepEqual(
        both.map((hit) => hit.chunkIndex),
        [1, 0],
      );
      assert.ok(both[0].score > both[1].score);
      // A query word found nowhere does not hide the chunks that hold the others.
      assert.equal((await store.search("otter zeppelin")).length, 2);
      assert.equal((await store.search("river", { limit: 1 })).length, 1);
      assert.deepEqual(await store.search("zeppelin"), []);
      // Words like "the" say nothing about the question: alone they match nothing, and beside
      // other words they do not drag in chunks that only share them.
      assert.deepEqual(await store.search("the and"), []);
      assert.deepEqual(
        (await store.search("where do the mountains")).map((hit) => hit.chunkIndex),
        [2],
      );
    });

    test("query syntax is taken as plain words: quotes, operators and punctuation never fail a search", async (t) => {
      const store = await open(factory, t);
      await ingest(store, "doc_q", "q.txt", ["Cats chase mice near the barn."]);
      for (const query of [
        '"cats',
        "cats -mice",
        "cats OR NOT (mice",
        "cats* AND barn:",
        "NEAR(cats mice)",
        "cats & | ! <-> mice",
        "or",
        "'; DROP TABLE chunks; --",
      ]) {
        const hits = await store.search(query);
        assert.ok(Array.isArray(hits), query);
      }
      assert.equal((await store.search("cats -mice")).length, 1);
      assert.deepEqual(await store.search(""), []);
      assert.deepEqual(await store.search("  ?! ... "), []);
      assert.equal((await store.search("CATS")).length, 1);
    });

    test("publishing a new document of a source replaces the older one, its chunks and its words", async (t) => {
      const store = await open(factory, t);
      await ingest(store, "doc_old", "faq", ["Old answer about zebras.", "More about zebras."]);
      const newer = await ingest(store, "doc_new", "faq", ["New answer about giraffes."]);
      assert.deepEqual(await store.documentsForSource("faq"), [newer]);
      assert.equal(await store.getDocument("doc_old"), undefined);
      assert.deepEqual(await store.search("zebras"), []);
      assert.deepEqual(
        (await store.search("giraffes")).map((hit) => hit.documentId),
        ["doc_new"],
      );
      // Another source is left alone.
      await ingest(store, "doc_other", "other", ["Zebras elsewhere."]);
      assert.equal((await store.search("giraffes")).length, 1);
      assert.equal((await store.search("zebras")).length, 1);
    });

    test("the old document stays searchable while its replacement is being written", async (t) => {
      const store = await open(factory, t);
      await ingest(store, "doc_v1", "guide", ["Version one mentions walruses."]);
      await store.beginDocument(newDocument("doc_v2", "guide"));
      await store.appendChunks("doc_v2", 0, textChunks(["Version two mentions narwhals."]));
      assert.equal((await store.search("walruses")).length, 1);
      assert.deepEqual(await store.search("narwhals"), []);
      await store.publishDocument("doc_v2");
      assert.deepEqual(await store.search("walruses"), []);
      assert.equal((await store.search("narwhals")).length, 1);
    });

    test("writes are idempotent by job: a retried begin drops the partial write, a rewritten chunk is stored once", async (t) => {
      const store = await open(factory, t);
      await store.beginDocument(newDocument("doc_job", "retry.txt"));
      await store.appendChunks("doc_job", 0, textChunks(["First try about penguins.", "Half written."]));
      // The worker died; the retried job begins the same document again.
      await store.beginDocument(newDocument("doc_job", "retry.txt"));
      await store.appendChunks("doc_job", 0, textChunks(["Second try about puffins."]));
      // Its worker dies after a batch was written, and the batch is written again.
      await store.appendChunks("doc_job", 0, textChunks(["Second try about puffins."]));
      await store.appendChunks("doc_job", 1, textChunks(["Tail about puffins."]));
      const published = await store.publishDocument("doc_job");
      assert.equal(published.chunks, 2);
      assert.deepEqual(await store.search("penguins"), []);
      assert.deepEqual((await store.search("puffins")).map((hit) => hit.chunkIndex).sort(), [0, 1]);
      // Publishing again (a job that died after publishing) changes nothing.
      const again = await store.publishDocument("doc_job");
      assert.equal(again.chunks, 2);
      assert.equal((await store.search("puffins")).length, 2);
    });

    test("publishing a document that was never begun fails", async (t) => {
      const store = await open(factory, t);
      await assert.rejects(store.publishDocument("doc_missing"), /doc_missing/);
    });

    test("two documents of one source published at once leave exactly one", async (t) => {
      const store = await open(factory, t);
      for (const id of ["doc_x", "doc_y"]) {
        await store.beginDocument(newDocument(id, "race"));
        await store.appendChunks(id, 0, textChunks([`Race entry ${id} about herons.`]));
      }
      const outcomes = await Promise.allSettled([
        store.publishDocument("doc_x"),
        store.publishDocument("doc_y"),
      ]);
      assert.ok(outcomes.some((outcome) => outcome.status === "fulfilled"));
      assert.equal((await store.documentsForSource("race")).length, 1);
      assert.equal((await store.search("herons")).length, 1);
    });

    test("listDocuments pages newest first with the total; deleteDocument removes a document and its chunks", async (t) => {
      const store = await open(factory, t);
      for (const index of [1, 2, 3]) {
        const document = await ingest(store, `doc_${index}`, `source-${index}`, [
          `Document ${index} about kestrels.`,
        ]);
        // Distinct creation times, so "newest first" has one answer.
        await waitFor("the clock to move on", () => Date.now() > document.createdAt, { intervalMs: 1 });
      }
      await store.beginDocument(newDocument("doc_4", "source-4"));

      const first = await store.listDocuments({ limit: 2, offset: 0 });
      assert.equal(first.total, 4);
      assert.deepEqual(
        first.documents.map((document) => [document.id, document.state]),
        [
          ["doc_4", "writing"],
          ["doc_3", "ready"],
        ],
      );
      const second = await store.listDocuments({ limit: 2, offset: 2 });
      assert.deepEqual(
        second.documents.map((document) => document.id),
        ["doc_2", "doc_1"],
      );
      const past = await store.listDocuments({ limit: 2, offset: 10 });
      assert.deepEqual(past, { documents: [], total: 4 });

      assert.equal(await store.deleteDocument("doc_2"), true);
      assert.equal(await store.deleteDocument("doc_2"), false);
      assert.equal(await store.deleteDocument("doc_never"), false);
      assert.equal(await store.getDocument("doc_2"), undefined);
      assert.deepEqual((await store.search("kestrels")).map((hit) => hit.documentId).sort(), [
        "doc_1",
        "doc_3",
      ]);
      assert.equal((await store.listDocuments({ limit: 10, offset: 0 })).total, 3);
    });

    test("a search counts at most 16 words and answers at most 50 hits", async (t) => {
      const store = await open(factory, t);
      await ingest(
        store,
        "doc_many",
        "many.txt",
        Array.from({ length: 60 }, (_, index) => `Chunk ${index} about the puffin colony.`),
      );
      assert.equal((await store.search("puffin", { limit: 500 })).length, 50);
      // The 17th word and later are not looked for.
      const words = Array.from({ length: 16 }, (_, index) => `filler${index}`).join(" ");
      assert.deepEqual(await store.search(`${words} puffin`), []);
      assert.equal((await store.search(`${words.split(" ").slice(1).join(" ")} puffin`)).length, 5);
    });

    test("the store keeps its size in bytes of text and refuses a batch that would pass its cap, writing none of it", async (t) => {
      const store = await open(factory, t, { maxBytes: 100 });
      assert.equal(await store.storedBytes(), 0);
      await store.beginDocument(newDocument("doc_fit", "fit.txt"));
      await store.appendChunks("doc_fit", 0, textChunks(["x".repeat(30), "é".repeat(10)]));
      assert.equal(await store.storedBytes(), 50);
      // Rewriting a chunk (a retried batch) replaces its bytes rather than adding them.
      await store.appendChunks("doc_fit", 0, textChunks(["x".repeat(30)]));
      assert.equal(await store.storedBytes(), 50);
      await store.publishDocument("doc_fit");

      await store.beginDocument(newDocument("doc_big", "big.txt"));
      await store.appendChunks("doc_big", 0, textChunks(["y".repeat(40)]));
      await assert.rejects(store.appendChunks("doc_big", 1, textChunks(["z".repeat(5), "z".repeat(10)])), {
        code: "KNOWLEDGE_STORE_FULL",
        statusCode: 507,
      });
      assert.equal(await store.storedBytes(), 90);
      const published = await store.publishDocument("doc_big");
      assert.equal(published.chunks, 1, "the refused batch stored no chunk");
      // Deleting a document gives its room back.
      await store.deleteDocument("doc_fit");
      assert.equal(await store.storedBytes(), 40);
      await store.appendChunks("doc_big", 1, textChunks(["z".repeat(50)]));
      assert.equal(await store.storedBytes(), 90);
    });

    test("collections: a search sees one collection, the same source may live in two, the list filters by one", async (t) => {
      const store = await open(factory, t);
      await store.beginDocument(newDocument("doc_a", "guide.md", { collection: "alpha" }));
      await store.appendChunks("doc_a", 0, textChunks(["Alpha teams meet on Mondays."]));
      await store.publishDocument("doc_a");
      await store.beginDocument(
        newDocument("doc_b", "guide.md", { collection: "beta", title: "Beta guide" }),
      );
      await store.appendChunks("doc_b", 0, textChunks(["Beta teams meet on Fridays."]));
      await store.publishDocument("doc_b");
      // Publishing in beta did not replace alpha's document of the same source.
      assert.equal((await store.documentsForSource("guide.md", { collection: "alpha" })).length, 1);
      assert.deepEqual(
        (await store.search("teams meet", { collection: "beta" })).map((hit) => [hit.documentId, hit.title]),
        [["doc_b", "Beta guide"]],
      );
      assert.deepEqual(await store.search("teams meet"), [], "the default collection holds neither");
      const beta = await store.listDocuments({ limit: 10, offset: 0, collection: "beta" });
      assert.deepEqual(
        beta.documents.map((document) => [document.id, document.collection]),
        [["doc_b", "beta"]],
      );
      assert.equal(beta.total, 1);
      assert.equal((await store.listDocuments({ limit: 10, offset: 0 })).total, 2);
    });

    test("a chunk keeps its page; vectors are ranked by exact cosine, of one model and one collection", async (t) => {
      const store = await open(factory, t);
      const unit = (vector: number[]) => {
        const length = Math.hypot(...vector);
        return vector.map((value) => value / length);
      };
      await store.beginDocument(newDocument("doc_v", "manual.pdf", { embeddingModel: "model-a" }));
      await store.appendChunks("doc_v", 0, [
        { text: "North", page: 1, embedding: unit([1, 0, 0]) },
        { text: "North-east", page: 2, embedding: unit([1, 1, 0]) },
        { text: "Up", page: 2, embedding: unit([0, 0, 1]) },
      ]);
      await store.publishDocument("doc_v");
      await store.beginDocument(newDocument("doc_other", "other.txt", { embeddingModel: "model-b" }));
      await store.appendChunks("doc_other", 0, [{ text: "North too", embedding: unit([1, 0, 0]) }]);
      await store.publishDocument("doc_other");

      const hits = await store.searchByVector(unit([1, 0.2, 0]), { model: "model-a", limit: 2 });
      assert.deepEqual(
        hits.map((hit) => [hit.text, hit.page]),
        [
          ["North", 1],
          ["North-east", 2],
        ],
      );
      assert.ok(hits[0].score > hits[1].score && hits[0].score <= 1.000001);
      assert.equal(hits[0].snippet, "North");
      const byText = (await store.search("north")).find((hit) => hit.text === "North");
      assert.equal(byText?.page, 1);
      assert.deepEqual(
        await store.searchByVector(unit([1, 0, 0]), { model: "model-a", collection: "elsewhere" }),
        [],
      );

      // Re-embedding with another model: hidden from model-b's searches until marked.
      assert.deepEqual(
        (await store.documentsToEmbed("model-b", 10)).map((document) => document.id),
        ["doc_v"],
      );
      const texts = await store.chunkTexts("doc_v", 1, 5);
      assert.deepEqual(
        texts.map((chunk) => [chunk.chunkIndex, chunk.text]),
        [
          [1, "North-east"],
          [2, "Up"],
        ],
      );
      await store.storeEmbeddings("doc_v", 0, [unit([0, 1, 0]), unit([0, 1, 0]), unit([0, 1, 0])]);
      assert.deepEqual(await store.searchByVector(unit([0, 1, 0]), { model: "model-a" }), []);
      assert.deepEqual(
        (await store.searchByVector(unit([0, 1, 0]), { model: "model-b" })).map((hit) => hit.documentId),
        ["doc_other"],
      );
      await store.markEmbedded("doc_v", "model-b");
      assert.equal((await store.getDocument("doc_v"))?.embeddingModel, "model-b");
      assert.equal(
        (await store.searchByVector(unit([0, 1, 0]), { model: "model-b" }))[0].documentId,
        "doc_v",
      );
      assert.deepEqual(await store.documentsToEmbed("model-b", 10), []);
    });

    test("owners: every read filters by owner (a key's, none for null, everyone's when absent); publishing replaces only the same owner's", async (t) => {
      const store = await open(factory, t);
      const unit = [1, 0];
      // The same source in the same collection, three times: key A's, key B's, and no one's.
      const owners = { doc_a: "key_a", doc_b: "key_b", doc_none: undefined } as const;
      for (const [id, owner] of Object.entries(owners)) {
        await store.beginDocument(
          newDocument(id, "https://example.com/handbook", {
            embeddingModel: "model-a",
            ...(owner === undefined ? {} : { owner }),
          }),
        );
        await store.appendChunks(id, 0, [{ text: `Puffins nest here, says ${id}.`, embedding: unit }]);
        await store.publishDocument(id);
      }
      const ids = (documents: readonly { id: string }[]) => documents.map((document) => document.id).sort();
      const hitIds = (hits: readonly { documentId: string }[]) => hits.map((hit) => hit.documentId).sort();

      // Nobody's publish replaced another owner's document of the same source.
      assert.deepEqual(ids(await store.documentsForSource("https://example.com/handbook")), [
        "doc_a",
        "doc_b",
        "doc_none",
      ]);
      assert.equal((await store.getDocument("doc_a"))?.owner, "key_a");
      assert.equal((await store.getDocument("doc_none"))?.owner, undefined, "no owner: no field");

      for (const [owner, expected] of [
        ["key_a", ["doc_a"]],
        ["key_b", ["doc_b"]],
        [null, ["doc_none"]],
        [undefined, ["doc_a", "doc_b", "doc_none"]],
        ["key_stranger", []],
      ] as const) {
        const label = `owner ${owner}`;
        assert.deepEqual(hitIds(await store.search("puffins", { owner })), expected, label);
        assert.deepEqual(
          hitIds(await store.searchByVector(unit, { model: "model-a", owner })),
          expected,
          label,
        );
        const page = await store.listDocuments({ limit: 10, offset: 0, owner });
        assert.deepEqual(ids(page.documents), expected, label);
        assert.equal(page.total, expected.length, label);
        assert.deepEqual(
          ids(await store.documentsForSource("https://example.com/handbook", { owner })),
          expected,
          label,
        );
        for (const id of Object.keys(owners)) {
          assert.equal(
            (await store.getDocument(id, { owner }))?.id,
            expected.includes(id as never) ? id : undefined,
          );
        }
      }

      // Key A publishing the source again replaces its own document only.
      await store.beginDocument(newDocument("doc_a2", "https://example.com/handbook", { owner: "key_a" }));
      await store.appendChunks("doc_a2", 0, textChunks(["Puffins moved, says key A."]));
      await store.publishDocument("doc_a2");
      assert.deepEqual(ids(await store.documentsForSource("https://example.com/handbook")), [
        "doc_a2",
        "doc_b",
        "doc_none",
      ]);

      // Deleting is filtered too: another owner's document is as if absent, and stays.
      assert.equal(await store.deleteDocument("doc_b", { owner: "key_a" }), false);
      assert.equal(await store.deleteDocument("doc_b", { owner: null }), false);
      assert.equal((await store.getDocument("doc_b"))?.owner, "key_b", "still there");
      assert.equal(await store.deleteDocument("doc_b", { owner: "key_b" }), true);
      assert.equal(await store.deleteDocument("doc_none", { owner: "key_a" }), false);
      assert.equal(await store.deleteDocument("doc_none", {}), true, "no filter: anyone's");
      assert.deepEqual(ids((await store.listDocuments({ limit: 10, offset: 0 })).documents), ["doc_a2"]);
    });

    test("listDocuments limited to collections lists only theirs, with the owner filter beside it", async (t) => {
      const store = await open(factory, t);
      for (const [id, collection, owner] of [
        ["doc_hr", "hr", "key_a"],
        ["doc_sales", "sales", "key_a"],
        ["doc_default", "default", "key_a"],
        ["doc_hr_b", "hr", "key_b"],
      ] as const) {
        await store.beginDocument(newDocument(id, `${id}.txt`, { collection, owner }));
        await store.publishDocument(id);
      }
      const listed = async (options: { collections?: string[]; owner?: string; collection?: string }) => {
        const page = await store.listDocuments({ limit: 10, offset: 0, ...options });
        return { ids: page.documents.map((document) => document.id).sort(), total: page.total };
      };
      assert.deepEqual(await listed({ collections: ["hr"], owner: "key_a" }), { ids: ["doc_hr"], total: 1 });
      assert.deepEqual(await listed({ collections: ["hr", "sales"], owner: "key_a" }), {
        ids: ["doc_hr", "doc_sales"],
        total: 2,
      });
      assert.deepEqual(await listed({ collections: ["hr"] }), { ids: ["doc_hr", "doc_hr_b"], total: 2 });
      assert.deepEqual(await listed({ collections: [] }), { ids: [], total: 0 });
      assert.deepEqual(await listed({ collections: ["hr"], collection: "sales" }), { ids: [], total: 0 });
      assert.deepEqual(await listed({ owner: "key_a" }), {
        ids: ["doc_default", "doc_hr", "doc_sales"],
        total: 3,
      });
    });

    test("ping answers while the store is usable", async (t) => {
      const store = await open(factory, t);
      await store.ping();
      assert.ok(store.kind === "sqlite" || store.kind === "postgres");
    });
  });
}
