import path from "node:path";
import type { Config } from "../config.ts";
import type { KnowledgeStore } from "./knowledge-store.ts";
import { PostgresKnowledgeStore } from "./stores/postgres-knowledge-store.ts";
import { SqliteKnowledgeStore } from "./stores/sqlite-knowledge-store.ts";

/** PostgreSQL full-text search when DATABASE_URL is set (shared by every replica), else SQLite FTS5 in DATA_DIR. */
export function createKnowledgeStore(config: Config): KnowledgeStore {
  if (config.databaseUrl) {
    return new PostgresKnowledgeStore({
      connectionString: config.databaseUrl,
      maxConnections: config.databasePoolSize,
      maxBytes: config.knowledgeMaxBytes,
      searchTimeoutMs: config.searchTimeoutMs,
    });
  }
  return new SqliteKnowledgeStore({
    file: path.join(config.dataDir, "knowledge.sqlite"),
    maxBytes: config.knowledgeMaxBytes,
    searchTimeoutMs: config.searchTimeoutMs,
  });
}
