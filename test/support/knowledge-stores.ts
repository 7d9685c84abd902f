import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { KnowledgeStore } from "../../src/knowledge/knowledge-store.ts";
import { PostgresKnowledgeStore } from "../../src/knowledge/stores/postgres-knowledge-store.ts";
import { SqliteKnowledgeStore } from "../../src/knowledge/stores/sqlite-knowledge-store.ts";
import { dropSchema, requirePostgres, TEST_DATABASE_URL, uniqueSchemaName } from "./require-postgres.ts";
import { textChunks } from "./text-chunks.ts";

export type OpenedStore = { store: KnowledgeStore; destroy: () => Promise<void> };

/** What a test may set on a store it opens. */
export type StoreOptions = { maxBytes?: number };

/** Both real stores, each private to the test that opens it and removed afterwards. */
export const knowledgeStores: Record<
  "SQLite" | "PostgreSQL",
  (options?: StoreOptions) => Promise<OpenedStore>
> = {
  SQLite: async (options = {}) => {
    const folder = mkdtempSync(path.join(tmpdir(), "knowledge-sqlite-"));
    const store = new SqliteKnowledgeStore({ file: path.join(folder, "knowledge.sqlite"), ...options });
    return {
      store,
      destroy: async () => {
        await store.close();
        rmSync(folder, { recursive: true, force: true });
      },
    };
  },
  PostgreSQL: async (options = {}) => {
    await requirePostgres();
    const schema = uniqueSchemaName();
    const store = new PostgresKnowledgeStore({
      connectionString: TEST_DATABASE_URL,
      schema,
      maxConnections: 4,
      ...options,
    });
    return {
      store,
      destroy: async () => {
        await store.close();
        await dropSchema(schema);
      },
    };
  },
};

/** Stores a published document the way the ingest processor does. */
export async function storeDocument(
  store: KnowledgeStore,
  id: string,
  source: string,
  chunks: readonly string[],
): Promise<void> {
  await store.beginDocument({
    id,
    collection: "default",
    source,
    contentType: "text/plain",
    bytes: 1,
    characters: 1,
    jobId: id,
  });
  await store.appendChunks(id, 0, textChunks(chunks));
  await store.publishDocument(id);
}
