import type { DatabaseSync, SQLInputValue } from "node:sqlite";
import { inTransaction, openSqliteDatabase } from "../storage/open-sqlite-database.ts";
import type { AccessStore } from "./access-store.ts";
import { changedKey, KEY_COLUMNS, type KeyRow, keyFromRow, keyValues, usageConditions } from "./key-row.ts";
import type { UsageQuery, UsageRow, UsageTotal } from "./usage-row.ts";
import type { VirtualKey, VirtualKeyChanges } from "./virtual-key.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS virtual_keys (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  digest TEXT NOT NULL UNIQUE,
  models TEXT,
  rpm INTEGER,
  tpm INTEGER,
  max_parallel INTEGER,
  budget_usd REAL,
  budget_period TEXT NOT NULL,
  expires_at INTEGER,
  metadata TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  revoked_at INTEGER,
  collections TEXT
);
CREATE TABLE IF NOT EXISTS usage_ledger (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time INTEGER NOT NULL,
  key_id TEXT,
  model TEXT NOT NULL,
  deployment TEXT NOT NULL,
  input_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  cached_input_tokens INTEGER NOT NULL,
  cost_nano_usd INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  request_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_ledger_key_time ON usage_ledger (key_id, time);
CREATE INDEX IF NOT EXISTS usage_ledger_time ON usage_ledger (time);
`;

const GROUP_EXPRESSIONS = {
  day: "strftime('%Y-%m-%d', time / 1000, 'unixepoch')",
  model: "model",
  key: "key_id",
} as const;

/** Keys and the usage ledger in one SQLite file (`DATA_DIR/access.db`). */
export class SqliteAccessStore implements AccessStore {
  readonly #database: DatabaseSync;

  constructor(file: string) {
    this.#database = openSqliteDatabase(file);
    this.#database.exec(SCHEMA);
    // Files from before keys could be limited to collections get the column once, empty (no limit).
    const columns = this.#database.prepare("PRAGMA table_info(virtual_keys)").all() as { name: string }[];
    if (!columns.some((column) => column.name === "collections")) {
      this.#database.exec("ALTER TABLE virtual_keys ADD COLUMN collections TEXT");
    }
  }

  async createKey(key: VirtualKey): Promise<void> {
    this.#database
      .prepare(
        `INSERT INTO virtual_keys (${KEY_COLUMNS.join(", ")}) VALUES (${KEY_COLUMNS.map(() => "?").join(", ")})`,
      )
      .run(...keyValues(key));
  }

  async listKeys(): Promise<VirtualKey[]> {
    const rows = this.#database.prepare("SELECT * FROM virtual_keys ORDER BY created_at, id").all();
    return rows.map((row) => keyFromRow(row as unknown as KeyRow));
  }

  async getKey(id: string): Promise<VirtualKey | undefined> {
    const row = this.#database.prepare("SELECT * FROM virtual_keys WHERE id = ?").get(id);
    return row === undefined ? undefined : keyFromRow(row as unknown as KeyRow);
  }

  async findKeyByDigest(digest: string): Promise<VirtualKey | undefined> {
    const row = this.#database.prepare("SELECT * FROM virtual_keys WHERE digest = ?").get(digest);
    return row === undefined ? undefined : keyFromRow(row as unknown as KeyRow);
  }

  async updateKey(id: string, changes: VirtualKeyChanges, now: number): Promise<VirtualKey | undefined> {
    return inTransaction(this.#database, () => {
      const row = this.#database.prepare("SELECT * FROM virtual_keys WHERE id = ?").get(id);
      if (row === undefined) return undefined;
      const updated = changedKey(keyFromRow(row as unknown as KeyRow), changes, now);
      const assignments = KEY_COLUMNS.slice(1).map((column) => `${column} = ?`);
      this.#database
        .prepare(`UPDATE virtual_keys SET ${assignments.join(", ")} WHERE id = ?`)
        .run(...keyValues(updated).slice(1), id);
      return updated;
    });
  }

  async revokeKey(id: string, now: number): Promise<boolean> {
    const result = this.#database
      .prepare("UPDATE virtual_keys SET revoked_at = COALESCE(revoked_at, ?), updated_at = ? WHERE id = ?")
      .run(now, now, id);
    return Number(result.changes) > 0;
  }

  async insertUsage(rows: readonly UsageRow[]): Promise<void> {
    if (rows.length === 0) return;
    const insert = this.#database.prepare(
      `INSERT INTO usage_ledger (time, key_id, model, deployment, input_tokens, output_tokens,
         cached_input_tokens, cost_nano_usd, duration_ms, outcome, request_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    inTransaction(this.#database, () => {
      for (const row of rows) {
        insert.run(
          row.time,
          row.keyId,
          row.model,
          row.deployment,
          row.inputTokens,
          row.outputTokens,
          row.cachedInputTokens,
          row.costNanoUsd,
          Math.round(row.durationMs),
          row.outcome,
          row.requestId,
        );
      }
    });
  }

  async queryUsage(query: UsageQuery): Promise<UsageTotal[]> {
    const { where, values } = usageConditions(query, () => "?");
    const group = query.groupBy === undefined ? "NULL" : GROUP_EXPRESSIONS[query.groupBy];
    const rows = this.#database
      .prepare(
        `SELECT ${group} AS grouped, COUNT(*) AS requests, COALESCE(SUM(input_tokens), 0) AS input_tokens,
           COALESCE(SUM(output_tokens), 0) AS output_tokens,
           COALESCE(SUM(cached_input_tokens), 0) AS cached_input_tokens,
           COALESCE(SUM(cost_nano_usd), 0) AS cost_nano_usd
         FROM usage_ledger ${where}
         ${query.groupBy === undefined ? "" : "GROUP BY grouped ORDER BY grouped"}`,
      )
      .all(...(values as SQLInputValue[]));
    return rows.map((row) => ({
      group: row.grouped === null ? null : String(row.grouped),
      requests: Number(row.requests),
      inputTokens: Number(row.input_tokens),
      outputTokens: Number(row.output_tokens),
      cachedInputTokens: Number(row.cached_input_tokens),
      costNanoUsd: Number(row.cost_nano_usd),
    }));
  }

  async spendSince(keyId: string, from: number): Promise<number> {
    const row = this.#database
      .prepare(
        "SELECT COALESCE(SUM(cost_nano_usd), 0) AS spent FROM usage_ledger WHERE key_id = ? AND time >= ?",
      )
      .get(keyId, from);
    return Number(row?.spent ?? 0);
  }

  async ping(): Promise<void> {
    this.#database.prepare("SELECT 1").get();
  }

  async close(): Promise<void> {
    if (this.#database.isOpen) this.#database.close();
  }
}
