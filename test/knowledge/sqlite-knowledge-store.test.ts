import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { SqliteKnowledgeStore } from "../../src/knowledge/stores/sqlite-knowledge-store.ts";
import { describeKnowledgeStoreConformance } from "./knowledge-store-conformance.ts";

describeKnowledgeStoreConformance("SQLite FTS5", async () => {
  const folder = mkdtempSync(path.join(tmpdir(), "knowledge-sqlite-"));
  const store = new SqliteKnowledgeStore({ file: path.join(folder, "knowledge.sqlite") });
  return {
    store,
    destroy: async () => {
      await store.close();
      rmSync(folder, { recursive: true, force: true });
    },
  };
});
