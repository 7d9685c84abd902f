import path from "node:path";
import type { Config } from "../config.ts";
import type { AccessStore } from "./access-store.ts";
import { PostgresAccessStore } from "./postgres-access-store.ts";
import { SqliteAccessStore } from "./sqlite-access-store.ts";

/** PostgreSQL when DATABASE_URL is set (every replica sees the same keys), else SQLite in DATA_DIR. */
export function createAccessStore(config: Config): AccessStore {
  if (config.databaseUrl) {
    return new PostgresAccessStore({
      connectionString: config.databaseUrl,
      maxConnections: config.databasePoolSize,
    });
  }
  return new SqliteAccessStore(path.join(config.dataDir, "access.sqlite"));
}
