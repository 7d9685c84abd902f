import type { KEY_COLUMNS } from "./key-row.ts";
import type { LEDGER_COLUMNS } from "./ledger-row.ts";
import type { ColumnType, SqlDialect } from "./sql-dialect.ts";

type Column = Readonly<{ type: ColumnType; constraint?: string }>;

// Keyed by the mapping's own column lists, so a column added there without a type here does not compile.
const KEY_TABLE: Readonly<Record<(typeof KEY_COLUMNS)[number], Column>> = {
  id: { type: "text", constraint: "PRIMARY KEY" },
  name: { type: "text", constraint: "NOT NULL" },
  digest: { type: "text", constraint: "NOT NULL UNIQUE" },
  models: { type: "text" },
  rpm: { type: "integer" },
  tpm: { type: "integer" },
  max_parallel: { type: "integer" },
  budget_usd: { type: "real" },
  budget_period: { type: "text", constraint: "NOT NULL" },
  expires_at: { type: "bigInteger" },
  metadata: { type: "text" },
  created_at: { type: "bigInteger", constraint: "NOT NULL" },
  updated_at: { type: "bigInteger", constraint: "NOT NULL" },
  revoked_at: { type: "bigInteger" },
  collections: { type: "text" },
};

const LEDGER_TABLE: Readonly<Record<"id" | (typeof LEDGER_COLUMNS)[number], Column>> = {
  id: { type: "rowId" },
  time: { type: "bigInteger", constraint: "NOT NULL" },
  key_id: { type: "text" },
  model: { type: "text", constraint: "NOT NULL" },
  deployment: { type: "text", constraint: "NOT NULL" },
  input_tokens: { type: "bigInteger", constraint: "NOT NULL" },
  output_tokens: { type: "bigInteger", constraint: "NOT NULL" },
  cached_input_tokens: { type: "bigInteger", constraint: "NOT NULL" },
  cost_nano_usd: { type: "bigInteger", constraint: "NOT NULL" },
  duration_ms: { type: "bigInteger", constraint: "NOT NULL" },
  outcome: { type: "text", constraint: "NOT NULL" },
  request_id: { type: "text", constraint: "NOT NULL" },
};

/**
 * Key columns that tables made by an older release lack (`collections`: from before keys could be
 * limited to collections). `CREATE TABLE IF NOT EXISTS` leaves such a table as it is, so each store
 * adds these in its own dialect, empty, which keeps the old keys without a limit.
 */
const KEY_COLUMNS_ADDED_LATER = ["collections"] as const;

function columnDefinition(dialect: SqlDialect, name: string, column: Column): string {
  return [name, dialect.types[column.type], column.constraint].filter(Boolean).join(" ");
}

function createTable(dialect: SqlDialect, table: string, columns: Readonly<Record<string, Column>>): string {
  const definitions = Object.entries(columns).map(([name, column]) =>
    columnDefinition(dialect, name, column),
  );
  return `CREATE TABLE IF NOT EXISTS ${table} (\n  ${definitions.join(",\n  ")}\n);`;
}

/** The access tables and their indexes; safe to run on every start. */
export function accessSchema(dialect: SqlDialect): string {
  return [
    createTable(dialect, "virtual_keys", KEY_TABLE),
    createTable(dialect, "usage_ledger", LEDGER_TABLE),
    "CREATE INDEX IF NOT EXISTS usage_ledger_key_time ON usage_ledger (key_id, time);",
    "CREATE INDEX IF NOT EXISTS usage_ledger_time ON usage_ledger (time);",
  ].join("\n");
}

/** The key columns an older table may lack, each with its definition for `ALTER TABLE ... ADD COLUMN`. */
export function keyColumnsAddedLater(dialect: SqlDialect): { name: string; definition: string }[] {
  return KEY_COLUMNS_ADDED_LATER.map((name) => ({
    name,
    definition: columnDefinition(dialect, name, KEY_TABLE[name]),
  }));
}
