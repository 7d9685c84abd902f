import { randomUUID } from "node:crypto";
import pg from "pg";

/** Where the PostgreSQL tests run; the machine's local server unless TEST_DATABASE_URL says otherwise. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** Fails with one clear line when the test PostgreSQL is not running, instead of a pile of refused queries. */
export async function requirePostgres(url = TEST_DATABASE_URL): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
  } catch (error) {
    throw new Error(
      `These tests need PostgreSQL at ${url} (set TEST_DATABASE_URL, or start a server on 127.0.0.1:5432): ${(error as Error).message}`,
    );
  } finally {
    await client.end().catch(() => {});
  }
}

/** A schema name no other test run uses, so runs never see each other's tables. */
export function uniqueSchemaName(): string {
  return `test_${randomUUID().replaceAll("-", "")}`;
}

export async function dropSchema(schema: string, url = TEST_DATABASE_URL): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/**
 * A schema of the caller's own, and a `DATABASE_URL` whose connections use it: for an app whose
 * every PostgreSQL store (keys, ledger, knowledge, uploads) must stay private to one test.
 * `drop()` removes the schema and everything in it.
 */
export async function privateDatabaseUrl(): Promise<{ url: string; drop: () => Promise<void> }> {
  await requirePostgres();
  const schema = uniqueSchemaName();
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA "${schema}"`);
  } finally {
    await client.end();
  }
  const url = new URL(TEST_DATABASE_URL);
  url.searchParams.set("options", `-c search_path=${schema}`);
  return { url: url.href, drop: () => dropSchema(schema) };
}
