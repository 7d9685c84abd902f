import path from "node:path";
import type { Config } from "../../config.ts";
import { FileUploadStore } from "./file-upload-store.ts";
import { PostgresUploadStore } from "./postgres-upload-store.ts";
import type { UploadStore } from "./upload-store.ts";

/** PostgreSQL with DATABASE_URL (a worker anywhere can read the bytes), else files in DATA_DIR/uploads. */
export function createUploadStore(config: Config): UploadStore {
  if (config.databaseUrl) {
    return new PostgresUploadStore({ connectionString: config.databaseUrl, maxConnections: 2 });
  }
  return new FileUploadStore({ folder: path.join(config.dataDir, "uploads") });
}
