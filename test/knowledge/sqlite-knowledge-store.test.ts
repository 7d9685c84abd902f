import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import { SqliteKnowledgeStore } from "../../src/knowledge/stores/sqlite-knowledge-store.ts";
import { describeKnowledgeStoreConformance } from "../support/knowledge-store-conformance.ts";
import { knowledgeStores, storeDocument } from "../support/knowledge-stores.ts";

describeKnowledgeStoreConformance("SQLite FTS5", knowledgeStores.SQLite);

test("a file from before documents had owners gets the column; its documents have no owner", async (t) => {
  const folder = mkdtempSync(path.join(tmpdir(), "knowledge-sqlite-owners-"));
  t.after(() => rmSync(folder, { recursive: true, force: true }));
  const file = path.join(folder, "knowledge.sqlite");
  const first = new SqliteKnowledgeStore({ file });
  await storeDocument(first, "doc_old", "old.txt", ["Written before owners, about otters."]);
  await first.close();
  // The file as an older release left it: no owner column.
  const raw = new DatabaseSync(file);
  raw.exec("ALTER TABLE documents DROP COLUMN owner");
  raw.close();

  const store = new SqliteKnowledgeStore({ file });
  t.after(() => store.close());
  const old = await store.getDocument("doc_old");
  assert.equal(old?.source, "old.txt");
  assert.equal(old?.owner, undefined);
  assert.equal((await store.search("otters", { owner: null }))[0]?.documentId, "doc_old");
  assert.deepEqual(await store.search("otters", { owner: "key_a" }), []);
  await store.beginDocument({
    id: "doc_new",
    collection: "default",
    source: "old.txt",
    contentType: "text/plain",
    bytes: 1,
    characters: 1,
    jobId: "new",
    owner: "key_a",
  });
  await store.publishDocument("doc_new");
  assert.equal((await store.getDocument("doc_new"))?.owner, "key_a");
  assert.equal((await store.getDocument("doc_old"))?.id, "doc_old", "a key's publish kept the ownerless one");
});
