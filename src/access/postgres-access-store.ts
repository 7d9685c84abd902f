import pg from "pg";
import type { AccessStore } from "./access-store.ts";
import { changedKey, KEY_COLUMNS, type KeyRow, keyFromRow, keyValues, usageConditions } from "./key-row.ts";
import type { UsageQuery, UsageRow, UsageTotal } from "./usage-row.ts";
import type { VirtualKey, VirtualKeyChanges } from "./virtual-key.ts";

export type PostgresAccessStoreOptions = {
  connectionString: string;
  /** Tables go in this schema (created when missing) instead of the connection's default. */
  schema?: string;
  maxConnections?: number;
  connectionTimeoutMs?: number;
};

const SCHEMA = `
CREATE TABLE IF NOT EXISTS virtual_keys (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  digest TEXT NOT NULL UNIQUE,
  models TEXT,
  rpm INTEGER,
  tpm INTEGER,
  max_parallel INTEGER,
  budget_usd DOUBLE PRECISION,
  budget_period TEXT NOT NULL,
  expires_at BIGINT,
  metadata TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  revoked_at BIGINT,
  collections TEXT
);
-- Tables from before keys could be limited to collections get the column, empty (no limit).
ALTER TABLE virtual_keys ADD COLUMN IF NOT EXISTS collections TEXT;
CREATE TABLE IF NOT EXISTS usage_ledger (
  id BIGSERIAL PRIMARY KEY,
  time BIGINT NOT NULL,
  key_id TEXT,
  model TEXT NOT NULL,
  deployment TEXT NOT NULL,
  input_tokens BIGINT NOT NULL,
  output_tokens BIGINT NOT NULL,
  cached_input_tokens BIGINT NOT NULL,
  cost_nano_usd BIGINT NOT NULL,
  duration_ms BIGINT NOT NULL,
  outcome TEXT NOT NULL,
  request_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_ledger_key_time ON usage_ledger (key_id, time);
CREATE INDEX IF NOT EXISTS usage_ledger_time ON usage_ledger (time);
`;

const GROUP_EXPRESSIONS = {
  day: "to_char(to_timestamp(time / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
  model: "model",
  key: "key_id",
} as const;

const USAGE_COLUMNS = 11;

/** Keys and the usage ledger in PostgreSQL, shared by every replica. */
export class PostgresAccessStore implements AccessStore {
  readonly #pool: pg.Pool;
  readonly #schema: string | undefined;
  #migrated: Promise<void> | undefined;

  constructor(options: PostgresAccessStoreOptions) {
    this.#schema = options.schema;
    this.#pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: options.connectionTimeoutMs ?? 5000,
      options: options.schema ? `-c search_path=${quoteIdentifier(options.schema)}` : undefined,
      application_name: "llm-api-service",
    });
    // A connection the server dropped must not crash the process; the next query reports it.
    this.#pool.on("error", () => {});
  }

  async createKey(key: VirtualKey): Promise<void> {
    const placeholders = KEY_COLUMNS.map((_, index) => `$${index + 1}`);
    await this.#query(
      `INSERT INTO virtual_keys (${KEY_COLUMNS.join(", ")}) VALUES (${placeholders.join(", ")})`,
      keyValues(key),
    );
  }

  async listKeys(): Promise<VirtualKey[]> {
    const result = await this.#query<KeyRow>("SELECT * FROM virtual_keys ORDER BY created_at, id");
    return result.rows.map(keyFromRow);
  }

  async getKey(id: string): Promise<VirtualKey | undefined> {
    const result = await this.#query<KeyRow>("SELECT * FROM virtual_keys WHERE id = $1", [id]);
    return result.rows[0] === undefined ? undefined : keyFromRow(result.rows[0]);
  }

  async findKeyByDigest(digest: string): Promise<VirtualKey | undefined> {
    const result = await this.#query<KeyRow>("SELECT * FROM virtual_keys WHERE digest = $1", [digest]);
    return result.rows[0] === undefined ? undefined : keyFromRow(result.rows[0]);
  }

  async updateKey(id: string, changes: VirtualKeyChanges, now: number): Promise<VirtualKey | undefined> {
    await this.#migrate();
    const client = await this.#pool.connect();
    try {
      await client.query("BEGIN");
      const found = await client.query<KeyRow>("SELECT * FROM virtual_keys WHERE id = $1 FOR UPDATE", [id]);
      if (found.rows[0] === undefined) {
        await client.query("ROLLBACK");
        return undefined;
      }
      const updated = changedKey(keyFromRow(found.rows[0]), changes, now);
      const assignments = KEY_COLUMNS.slice(1).map((column, index) => `${column} = $${index + 1}`);
      await client.query(
        `UPDATE virtual_keys SET ${assignments.join(", ")} WHERE id = $${KEY_COLUMNS.length}`,
        [...keyValues(updated).slice(1), id],
      );
      await client.query("COMMIT");
      return updated;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  async revokeKey(id: string, now: number): Promise<boolean> {
    const result = await this.#query(
      "UPDATE virtual_keys SET revoked_at = COALESCE(revoked_at, $1), updated_at = $1 WHERE id = $2",
      [now, id],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async insertUsage(rows: readonly UsageRow[]): Promise<void> {
    if (rows.length === 0) return;
    const values: (string | number | null)[] = [];
    const tuples = rows.map((row, rowIndex) => {
      values.push(
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
      const base = rowIndex * USAGE_COLUMNS;
      return `(${Array.from({ length: USAGE_COLUMNS }, (_, index) => `$${base + index + 1}`).join(", ")})`;
    });
    // One statement is one transaction: the batch is written whole or not at all.
    await this.#query(
      `INSERT INTO usage_ledger (time, key_id, model, deployment, input_tokens, output_tokens,
         cached_input_tokens, cost_nano_usd, duration_ms, outcome, request_id) VALUES ${tuples.join(", ")}`,
      values,
    );
  }

  async queryUsage(query: UsageQuery): Promise<UsageTotal[]> {
    const { where, values } = usageConditions(query, (index) => `$${index}`);
    const group = query.groupBy === undefined ? "NULL::text" : GROUP_EXPRESSIONS[query.groupBy];
    const result = await this.#query<Record<string, string | null>>(
      `SELECT ${group} AS grouped, COUNT(*) AS requests, COALESCE(SUM(input_tokens), 0) AS input_tokens,
         COALESCE(SUM(output_tokens), 0) AS output_tokens,
         COALESCE(SUM(cached_input_tokens), 0) AS cached_input_tokens,
         COALESCE(SUM(cost_nano_usd), 0) AS cost_nano_usd
       FROM usage_ledger ${where}
       ${query.groupBy === undefined ? "" : "GROUP BY grouped ORDER BY grouped"}`,
      values,
    );
    return result.rows.map((row) => ({
      group: row.grouped ?? null,
      requests: Number(row.requests),
      inputTokens: Number(row.input_tokens),
      outputTokens: Number(row.output_tokens),
      cachedInputTokens: Number(row.cached_input_tokens),
      costNanoUsd: Number(row.cost_nano_usd),
    }));
  }

  async spendSince(keyId: string, from: number): Promise<number> {
    const result = await this.#query<{ spent: string }>(
      "SELECT COALESCE(SUM(cost_nano_usd), 0) AS spent FROM usage_ledger WHERE key_id = $1 AND time >= $2",
      [keyId, from],
    );
    return Number(result.rows[0]?.spent ?? 0);
  }

  async ping(): Promise<void> {
    await this.#query("SELECT 1");
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }

  async #query<Row extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values: unknown[] = [],
  ): Promise<pg.QueryResult<Row>> {
    await this.#migrate();
    return this.#pool.query<Row>(text, values);
  }

  #migrate(): Promise<void> {
    this.#migrated ??= (async () => {
      const client = await this.#pool.connect();
      try {
        if (this.#schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(this.#schema)}`);
        // Replicas starting together must not race to create the same tables.
        await client.query("SELECT pg_advisory_lock(hashtext('llm_api_access_schema'))");
        try {
          await client.query(SCHEMA);
        } finally {
          await client.query("SELECT pg_advisory_unlock(hashtext('llm_api_access_schema'))");
        }
      } finally {
        client.release();
      }
    })().catch((error) => {
      // A failed migration is tried again by the next query, once the server is back.
      this.#migrated = undefined;
      throw error;
    });
    return this.#migrated;
  }
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
