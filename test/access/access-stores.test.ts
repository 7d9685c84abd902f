import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { PostgresAccessStore } from "../../src/access/postgres-access-store.ts";
import { SqliteAccessStore } from "../../src/access/sqlite-access-store.ts";
import { accessStoreConformance } from "../support/access-store-conformance.ts";
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
