import assert from "node:assert/strict";
import { before, test } from "node:test";
import pg from "pg";
import { PostgresKnowledgeStore } from "../../src/knowledge/stores/postgres-knowledge-store.ts";
import { describeKnowledgeStoreConformance } from "../support/knowledge-store-conformance.ts";
import { knowledgeStores, storeDocument } from "../support/knowledge-stores.ts";
import {
  dropSchema,
  requirePostgres,
  TEST_DATABASE_URL,
  uniqueSchemaName,
} from "../support/require-postgres.ts";
import { textChunks } from "../support/text-chunks.ts";

before(() => requirePostgres());

describeKnowledgeStoreConformance("PostgreSQL full-text search", knowledgeStores.PostgreSQL);

test("replicas starting at once migrate one schema once, and all of them can write and search", async (t) => {
  const schema = uniqueSchemaName();
  const replicas = Array.from(
    { length: 4 },
    () => new PostgresKnowledgeStore({ connectionString: TEST_DATABASE_URL, schema, maxConnections: 2 }),
  );
  t.after(async () => {
    await Promise.all(replicas.map((replica) => replica.close()));
    await dropSchema(schema);
  });
  await Promise.all(replicas.map((replica) => replica.ping()));

  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  t.after(() => client.end());
  const versions = await client.query(`SELECT version FROM "${schema}".knowledge_migrations`);
  assert.deepEqual(
    versions.rows,
    [1, 2, 3, 4, 5].map((version) => ({ version })),
  );
  const indexes = await client.query(
    "SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = 'knowledge_chunks_search'",
    [schema],
  );
  assert.match(indexes.rows[0]?.indexdef ?? "", /USING gin \(search_vector\)/);

  await replicas[0].beginDocument({
    id: "doc_shared",
    collection: "default",
    source: "shared",
    contentType: "text/plain",
    bytes: 1,
    characters: 1,
    jobId: "shared",
  });
  await replicas[1].appendChunks("doc_shared", 0, textChunks(["Every replica sees the albatross."]));
  await replicas[2].publishDocument("doc_shared");
  assert.equal((await replicas[3].search("albatross"))[0]?.documentId, "doc_shared");
});

test("a database from before documents had owners migrates; its documents have no owner", async (t) => {
  const schema = uniqueSchemaName();
  const first = new PostgresKnowledgeStore({
    connectionString: TEST_DATABASE_URL,
    schema,
    maxConnections: 2,
  });
  t.after(() => dropSchema(schema));
  await storeDocument(first, "doc_old", "old.txt", ["Written before owners, about otters."]);
  await first.close();
  // The schema as the release before left it: four migrations, no owner column.
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  t.after(() => client.end());
  await client.query(`ALTER TABLE "${schema}".knowledge_documents DROP COLUMN owner`);
  await client.query(`DELETE FROM "${schema}".knowledge_migrations WHERE version = 5`);

  const store = new PostgresKnowledgeStore({
    connectionString: TEST_DATABASE_URL,
    schema,
    maxConnections: 2,
  });
  t.after(() => store.close());
  const old = await store.getDocument("doc_old");
  assert.equal(old?.source, "old.txt");
  assert.equal(old?.owner, undefined);
  assert.equal((await store.search("otters", { owner: null }))[0]?.documentId, "doc_old");
  assert.deepEqual(await store.search("otters", { owner: "key_a" }), []);
  const versions = await client.query(`SELECT max(version) AS version FROM "${schema}".knowledge_migrations`);
  assert.equal(versions.rows[0].version, 5);
});

test("a store whose server is unreachable fails ping with the connection error, every time it is asked", async (t) => {
  // Port 1 on loopback refuses at once: no server there.
  const store = new PostgresKnowledgeStore({
    connectionString: "postgres://postgres@127.0.0.1:1/test",
    connectionTimeoutMs: 2000,
  });
  t.after(() => store.close());
  await assert.rejects(store.ping(), /ECONNREFUSED|connect/);
  await assert.rejects(store.ping(), /ECONNREFUSED|connect/);
});

test("a search past SEARCH_TIMEOUT_MS is stopped by the server and rejects with SEARCH_TIMEOUT", async (t) => {
  const schema = uniqueSchemaName();
  const store = new PostgresKnowledgeStore({
    connectionString: TEST_DATABASE_URL,
    schema,
    searchTimeoutMs: 1,
  });
  t.after(async () => {
    await store.close();
    await dropSchema(schema);
  });
  // Enough matching chunks that ranking and snippets take well over the 1 ms budget.
  const chunks = Array.from(
    { length: 4000 },
    (_, index) =>
      `Lighthouse ${index}: the keeper climbs the lighthouse stairs and trims the lighthouse lamp.`,
  );
  await storeDocument(store, "doc_many", "many.txt", chunks);
  await assert.rejects(store.search("lighthouse keeper lamp stairs"), (error: unknown) => {
    assert.equal((error as { code?: unknown }).code, "SEARCH_TIMEOUT");
    return true;
  });
});
