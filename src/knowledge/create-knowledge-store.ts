import path from "node:path";
import type { Config } from "../config.ts";
import type { KnowledgeStore } from "./knowledge-store.ts";
import { SqliteKnowledgeStore } from "./stores/sqlite-knowledge-store.ts";

/** SQLite FTS5 in DATA_DIR (PostgreSQL full-text search when DATABASE_URL is set, once it exists). */
export function createKnowledgeStore(config: Config): KnowledgeStore {
  return new SqliteKnowledgeStore({ file: path.join(config.dataDir, "knowledge.sqlite") });
}
