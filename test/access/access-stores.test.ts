import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import pg from "pg";
import { PostgresAccessStore } from "../../src/access/postgres-access-store.ts";
import { SqliteAccessStore } from "../../src/access/sqlite-access-store.ts";
import { accessStoreConformance, newKey } from "../support/access-store-conformance.ts";
import {
  dropSchema,
  requirePostgres,
  TEST_DATABASE_URL,
  uniqueSchemaName,
} from "../support/require-postgres.ts";

accessStoreConformance(
  "SQLite",
  test,
  async () =>
    new SqliteAccessStore(path.join(mkdtempSync(path.join(tmpdir(), "access-store-")), "access.sqlite")),
);

const schemas: string[] = [];
test.after(async () => {
  for (const schema of schemas) await dropSchema(schema);
});
accessStoreConformance("PostgreSQL", test, async () => {
  await requirePostgres();
  const schema = uniqueSchemaName();
  schemas.push(schema);
  return new PostgresAccessStore({ connectionString: TEST_DATABASE_URL, schema });
});

test("SQLite: a key file from before collections gets the column; its keys have no collection limit", async (t) => {
  const folder = mkdtempSync(path.join(tmpdir(), "access-store-old-"));
  const file = path.join(folder, "access.sqlite");
  const first = new SqliteAccessStore(file);
  const key = newKey();
  await first.createKey(key);
  await first.close();
  const raw = new DatabaseSync(file);
  raw.exec("ALTER TABLE virtual_keys DROP COLUMN collections");
  raw.close();

  const store = new SqliteAccessStore(file);
  t.after(() => store.close());
  assert.deepEqual(await store.getKey(key.id), { ...key, collections: null });
  const changed = await store.updateKey(key.id, { collections: ["hr"] }, key.createdAt + 1);
  assert.deepEqual((await store.getKey(key.id))?.collections, ["hr"]);
  assert.equal(changed?.name, key.name);
});

test("PostgreSQL: a key table from before collections gets the column; its keys have no collection limit", async (t) => {
  await requirePostgres();
  const schema = uniqueSchemaName();
  schemas.push(schema);
  const first = new PostgresAccessStore({ connectionString: TEST_DATABASE_URL, schema });
  const key = newKey();
  await first.createKey(key);
  await first.close();
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  t.after(() => client.end());
  await client.query(`ALTER TABLE "${schema}".virtual_keys DROP COLUMN collections`);

  const store = new PostgresAccessStore({ connectionString: TEST_DATABASE_URL, schema });
  t.after(() => store.close());
  assert.deepEqual(await store.getKey(key.id), { ...key, collections: null });
  await store.updateKey(key.id, { collections: ["hr"] }, key.createdAt + 1);
  assert.deepEqual((await store.getKey(key.id))?.collections, ["hr"]);
});
