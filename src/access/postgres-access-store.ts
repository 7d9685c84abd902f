import type pg from "pg";
import { openPostgresPool, quoteIdentifier } from "../storage/open-postgres-pool.ts";
import { accessSchema, keyColumnsAddedLater } from "./access-schema.ts";
import { accessStatements, type SqlStatement } from "./access-statements.ts";
import type { AccessStore } from "./access-store.ts";
import { changedKey, type KeyRow, keyFromRow } from "./key-row.ts";
import { type LedgerTotalRow, usageTotalFromRow } from "./ledger-row.ts";
import type { SqlDialect } from "./sql-dialect.ts";
import type { UsageQuery, UsageRow, UsageTotal } from "./usage-row.ts";
import type { VirtualKey, VirtualKeyChanges } from "./virtual-key.ts";

export type PostgresAccessStoreOptions = {
  connectionString: string;
  /** Tables go in this schema (created when missing) instead of the connection's default. */
  schema?: string;
  maxConnections?: number;
  connectionTimeoutMs?: number;
};

const POSTGRES: SqlDialect = {
  placeholder: (index) => `$${index}`,
  types: {
    text: "TEXT",
    integer: "INTEGER",
    bigInteger: "BIGINT",
    real: "DOUBLE PRECISION",
    rowId: "BIGSERIAL PRIMARY KEY",
  },
  utcDay: (column) => `to_char(to_timestamp(${column} / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
  textNull: "NULL::text",
};

const statements = accessStatements(POSTGRES);

const MIGRATION = [
  accessSchema(POSTGRES),
  ...keyColumnsAddedLater(POSTGRES).map(
    (added) => `ALTER TABLE virtual_keys ADD COLUMN IF NOT EXISTS ${added.definition};`,
  ),
].join("\n");

/** Keys and the usage ledger in PostgreSQL, shared by every replica. */
export class PostgresAccessStore implements AccessStore {
  readonly #pool: pg.Pool;
  readonly #schema: string | undefined;
  #migrated: Promise<void> | undefined;

  constructor(options: PostgresAccessStoreOptions) {
    this.#schema = options.schema;
    this.#pool = openPostgresPool({
      connectionString: options.connectionString,
      schema: options.schema,
      maxConnections: options.maxConnections ?? 10,
      connectionTimeoutMs: options.connectionTimeoutMs ?? 5000,
      applicationName: "llm-api-service",
    });
  }

  async createKey(key: VirtualKey): Promise<void> {
    await this.#query(statements.insertKey(key));
  }

  async listKeys(): Promise<VirtualKey[]> {
    const result = await this.#query<KeyRow>(statements.listKeys());
    return result.rows.map(keyFromRow);
  }

  async getKey(id: string): Promise<VirtualKey | undefined> {
    const result = await this.#query<KeyRow>(statements.keyById(id));
    return result.rows[0] === undefined ? undefined : keyFromRow(result.rows[0]);
  }

  async findKeyByDigest(digest: string): Promise<VirtualKey | undefined> {
    const result = await this.#query<KeyRow>(statements.keyByDigest(digest));
    return result.rows[0] === undefined ? undefined : keyFromRow(result.rows[0]);
  }

  async updateKey(id: string, changes: VirtualKeyChanges, now: number): Promise<VirtualKey | undefined> {
    await this.#migrate();
    const client = await this.#pool.connect();
    try {
      await client.query("BEGIN");
      // The row stays locked until COMMIT, so two replicas changing one key cannot lose a change.
      const select = statements.keyById(id);
      const found = await client.query<KeyRow>(`${select.text} FOR UPDATE`, select.values);
      if (found.rows[0] === undefined) {
        await client.query("ROLLBACK");
        return undefined;
      }
      const updated = changedKey(keyFromRow(found.rows[0]), changes, now);
      const update = statements.updateKey(updated);
      await client.query(update.text, update.values);
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
    const result = await this.#query(statements.revokeKey(id, now));
    return (result.rowCount ?? 0) > 0;
  }

  async insertUsage(rows: readonly UsageRow[]): Promise<void> {
    if (rows.length === 0) return;
    // One statement is one transaction: the batch is written whole or not at all.
    await this.#query(statements.insertUsage(rows));
  }

  rejectsRows(error: unknown): boolean {
    // SQLSTATE classes 22 (data exception: a NUL in text, a number out of range) and 23 (integrity
    // constraint violation); a lost connection or a missing server has none of these.
    const code = (error as { code?: unknown } | undefined)?.code;
    return typeof code === "string" && (code.startsWith("22") || code.startsWith("23"));
  }

  async queryUsage(query: UsageQuery): Promise<UsageTotal[]> {
    const result = await this.#query<LedgerTotalRow>(statements.usageTotals(query));
    return result.rows.map(usageTotalFromRow);
  }

  async spendSince(keyId: string, from: number): Promise<number> {
    const result = await this.#query<{ spent: string }>(statements.spendSince(keyId, from));
    return Number(result.rows[0]?.spent ?? 0);
  }

  async ping(): Promise<void> {
    await this.#query({ text: "SELECT 1", values: [] });
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }

  async #query<Row extends pg.QueryResultRow = pg.QueryResultRow>(
    statement: SqlStatement,
  ): Promise<pg.QueryResult<Row>> {
    await this.#migrate();
    return this.#pool.query<Row>(statement.text, statement.values);
  }

  #migrate(): Promise<void> {
    this.#migrated ??= (async () => {
      const client = await this.#pool.connect();
      try {
        if (this.#schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(this.#schema)}`);
        // Replicas starting together must not race to create the same tables.
        await client.query("SELECT pg_advisory_lock(hashtext('llm_api_access_schema'))");
        try {
          await client.query(MIGRATION);
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
