import { KEY_COLUMNS, keyValues } from "./key-row.ts";
import { LEDGER_COLUMNS, ledgerValues } from "./ledger-row.ts";
import type { SqlDialect } from "./sql-dialect.ts";
import type { UsageGrouping, UsageQuery, UsageRow } from "./usage-row.ts";
import type { VirtualKey } from "./virtual-key.ts";

export type SqlValue = string | number | null;
export type SqlStatement = Readonly<{ text: string; values: SqlValue[] }>;

const SELECT_KEYS = "SELECT * FROM virtual_keys";

/**
 * Every statement of the access stores, spelled in `dialect`. The stores only run them: how a
 * statement is executed, and in which transaction, is what differs between the two databases.
 */
export function accessStatements(dialect: SqlDialect) {
  const placeholders = (count: number, offset = 0) =>
    Array.from({ length: count }, (_, index) => dialect.placeholder(offset + index + 1)).join(", ");
  // The ledger is written on every model call: a batch size's text is spelled out once.
  const insertUsageTexts = new Map<number, string>();
  const insertUsageText = (rowCount: number): string => {
    let text = insertUsageTexts.get(rowCount);
    if (text === undefined) {
      const tuples = Array.from(
        { length: rowCount },
        (_, rowIndex) => `(${placeholders(LEDGER_COLUMNS.length, rowIndex * LEDGER_COLUMNS.length)})`,
      );
      text = `INSERT INTO usage_ledger (${LEDGER_COLUMNS.join(", ")}) VALUES ${tuples.join(", ")}`;
      insertUsageTexts.set(rowCount, text);
    }
    return text;
  };
  const groupExpressions: Readonly<Record<UsageGrouping, string>> = {
    day: dialect.utcDay("time"),
    model: "model",
    key: "key_id",
  };

  return {
    insertKey: (key: VirtualKey): SqlStatement => ({
      text: `INSERT INTO virtual_keys (${KEY_COLUMNS.join(", ")}) VALUES (${placeholders(KEY_COLUMNS.length)})`,
      values: keyValues(key),
    }),

    listKeys: (): SqlStatement => ({ text: `${SELECT_KEYS} ORDER BY created_at, id`, values: [] }),

    keyById: (id: string): SqlStatement => ({
      text: `${SELECT_KEYS} WHERE id = ${dialect.placeholder(1)}`,
      values: [id],
    }),

    keyByDigest: (digest: string): SqlStatement => ({
      text: `${SELECT_KEYS} WHERE digest = ${dialect.placeholder(1)}`,
      values: [digest],
    }),

    /** Writes the whole key back: every column but the id, which finds the row. */
    updateKey: (key: VirtualKey): SqlStatement => {
      const assignments = KEY_COLUMNS.slice(1).map(
        (column, index) => `${column} = ${dialect.placeholder(index + 1)}`,
      );
      return {
        text: `UPDATE virtual_keys SET ${assignments.join(", ")} WHERE id = ${dialect.placeholder(KEY_COLUMNS.length)}`,
        values: [...keyValues(key).slice(1), key.id],
      };
    },

    /** A key revoked already keeps the time it was first revoked. */
    revokeKey: (id: string, now: number): SqlStatement => ({
      text: `UPDATE virtual_keys SET revoked_at = COALESCE(revoked_at, ${dialect.placeholder(1)}), updated_at = ${dialect.placeholder(2)} WHERE id = ${dialect.placeholder(3)}`,
      values: [now, now, id],
    }),

    /** One INSERT of all `rows`. */
    insertUsage: (rows: readonly UsageRow[]): SqlStatement => ({
      text: insertUsageText(rows.length),
      values: rows.flatMap(ledgerValues),
    }),

    /** The sums of `GET /admin/usage`, one row a group; read them with `usageTotalFromRow`. */
    usageTotals: (query: UsageQuery): SqlStatement => {
      const { where, values } = usageConditions(query, dialect.placeholder);
      const group = query.groupBy === undefined ? dialect.textNull : groupExpressions[query.groupBy];
      return {
        text: `SELECT ${group} AS grouped, COUNT(*) AS requests, COALESCE(SUM(input_tokens), 0) AS input_tokens,
           COALESCE(SUM(output_tokens), 0) AS output_tokens,
           COALESCE(SUM(cached_input_tokens), 0) AS cached_input_tokens,
           COALESCE(SUM(cost_nano_usd), 0) AS cost_nano_usd
         FROM usage_ledger ${where}
         ${query.groupBy === undefined ? "" : "GROUP BY grouped ORDER BY grouped"}`,
        values,
      };
    },

    /** The key's cost since `from`, as the single column `spent`. */
    spendSince: (keyId: string, from: number): SqlStatement => ({
      text: `SELECT COALESCE(SUM(cost_nano_usd), 0) AS spent FROM usage_ledger WHERE key_id = ${dialect.placeholder(1)} AND time >= ${dialect.placeholder(2)}`,
      values: [keyId, from],
    }),
  };
}

/** WHERE conditions of a usage query, with `placeholder(n)` giving the store's parameter syntax. */
function usageConditions(
  query: UsageQuery,
  placeholder: (index: number) => string,
): { where: string; values: (string | number)[] } {
  const conditions: string[] = [];
  const values: (string | number)[] = [];
  const add = (condition: string, value: string | number) => {
    values.push(value);
    conditions.push(`${condition} ${placeholder(values.length)}`);
  };
  if (query.keyId !== undefined) add("key_id =", query.keyId);
  if (query.model !== undefined) add("model =", query.model);
  if (query.from !== undefined) add("time >=", query.from);
  if (query.to !== undefined) add("time <", query.to);
  return { where: conditions.length > 0 ? `WHERE ${conditions.join(" AND ")}` : "", values };
}
