import type { DatabaseSync, StatementSync } from "node:sqlite";
import { inTransaction, openSqliteDatabase } from "../storage/open-sqlite-database.ts";
import { accessSchema, keyColumnsAddedLater } from "./access-schema.ts";
import { accessStatements, type SqlStatement } from "./access-statements.ts";
import type { AccessStore } from "./access-store.ts";
import { changedKey, type KeyRow, keyFromRow } from "./key-row.ts";
import { type LedgerTotalRow, usageTotalFromRow } from "./ledger-row.ts";
import type { SqlDialect } from "./sql-dialect.ts";
import type { UsageQuery, UsageRow, UsageTotal } from "./usage-row.ts";
import type { VirtualKey, VirtualKeyChanges } from "./virtual-key.ts";

/** 50 rows of 11 columns: within the 999 parameters even an old SQLite allows a statement. */
const USAGE_ROWS_PER_INSERT = 50;

/** SQLITE_TOOBIG, SQLITE_CONSTRAINT and SQLITE_MISMATCH: what a row's own values cause. */
const ROW_REJECTIONS = new Set([18, 19, 20]);

// SQLite stores every integer in up to 8 bytes, whatever the declared width.
const SQLITE: SqlDialect = {
  placeholder: () => "?",
  types: {
    text: "TEXT",
    integer: "INTEGER",
    bigInteger: "INTEGER",
    real: "REAL",
    rowId: "INTEGER PRIMARY KEY AUTOINCREMENT",
  },
  utcDay: (column) => `strftime('%Y-%m-%d', ${column} / 1000, 'unixepoch')`,
  textNull: "NULL",
};

const statements = accessStatements(SQLITE);

/** Keys and the usage ledger in one SQLite file (`DATA_DIR/access.db`). */
export class SqliteAccessStore implements AccessStore {
  readonly #database: DatabaseSync;
  // The statements' texts are few (the usage query's filters and groupings make the most), so each is prepared once.
  readonly #prepared = new Map<string, StatementSync>();

  constructor(file: string) {
    this.#database = openSqliteDatabase(file);
    this.#database.exec(accessSchema(SQLITE));
    // SQLite has no ADD COLUMN IF NOT EXISTS: look at the table's columns and add the missing ones once.
    const columns = this.#database.prepare("PRAGMA table_info(virtual_keys)").all() as { name: string }[];
    for (const added of keyColumnsAddedLater(SQLITE)) {
      if (!columns.some((column) => column.name === added.name)) {
        this.#database.exec(`ALTER TABLE virtual_keys ADD COLUMN ${added.definition}`);
      }
    }
  }

  async createKey(key: VirtualKey): Promise<void> {
    this.#run(statements.insertKey(key));
  }

  async listKeys(): Promise<VirtualKey[]> {
    return this.#all<KeyRow>(statements.listKeys()).map(keyFromRow);
  }

  async getKey(id: string): Promise<VirtualKey | undefined> {
    return this.#findKey(statements.keyById(id));
  }

  async findKeyByDigest(digest: string): Promise<VirtualKey | undefined> {
    return this.#findKey(statements.keyByDigest(digest));
  }

  async updateKey(id: string, changes: VirtualKeyChanges, now: number): Promise<VirtualKey | undefined> {
    return inTransaction(this.#database, () => {
      const found = this.#findKey(statements.keyById(id));
      if (found === undefined) return undefined;
      const updated = changedKey(found, changes, now);
      this.#run(statements.updateKey(updated));
      return updated;
    });
  }

  async revokeKey(id: string, now: number): Promise<boolean> {
    return this.#run(statements.revokeKey(id, now)) > 0;
  }

  async insertUsage(rows: readonly UsageRow[]): Promise<void> {
    if (rows.length === 0) return;
    // Up to USAGE_ROWS_PER_INSERT rows a statement, in one transaction: SQLite caps a statement's
    // parameters, which a whole batch could pass, and a row a statement cost every call its own.
    inTransaction(this.#database, () => {
      for (let start = 0; start < rows.length; start += USAGE_ROWS_PER_INSERT) {
        this.#run(statements.insertUsage(rows.slice(start, start + USAGE_ROWS_PER_INSERT)));
      }
    });
  }

  rejectsRows(error: unknown): boolean {
    // node:sqlite gives SQLite's extended result code; its low byte is the primary one.
    const errcode = (error as { errcode?: unknown } | undefined)?.errcode;
    return typeof errcode === "number" && ROW_REJECTIONS.has(errcode & 0xff);
  }

  async queryUsage(query: UsageQuery): Promise<UsageTotal[]> {
    return this.#all<LedgerTotalRow>(statements.usageTotals(query)).map(usageTotalFromRow);
  }

  async spendSince(keyId: string, from: number): Promise<number> {
    const [row] = this.#all<{ spent: number }>(statements.spendSince(keyId, from));
    return Number(row?.spent ?? 0);
  }

  async ping(): Promise<void> {
    this.#database.prepare("SELECT 1").get();
  }

  async close(): Promise<void> {
    if (this.#database.isOpen) this.#database.close();
  }

  #findKey(statement: SqlStatement): VirtualKey | undefined {
    const [row] = this.#all<KeyRow>(statement);
    return row === undefined ? undefined : keyFromRow(row);
  }

  #prepare(text: string): StatementSync {
    let prepared = this.#prepared.get(text);
    if (prepared === undefined) {
      prepared = this.#database.prepare(text);
      this.#prepared.set(text, prepared);
    }
    return prepared;
  }

  /** The number of rows the statement changed. */
  #run(statement: SqlStatement): number {
    return Number(this.#prepare(statement.text).run(...statement.values).changes);
  }

  #all<Row>(statement: SqlStatement): Row[] {
    return this.#prepare(statement.text).all(...statement.values) as Row[];
  }
}
