/** The column types the access tables are declared with; each dialect spells them its own way. */
export type ColumnType = "text" | "integer" | "bigInteger" | "real" | "rowId";

/**
 * What the SQLite and PostgreSQL access stores say differently; the tables, the columns and the
 * statements themselves are shared (access-schema.ts, access-statements.ts).
 */
export type SqlDialect = Readonly<{
  /** The parameter at `index` (from 1): `?` in SQLite, `$1`, `$2`, ... in PostgreSQL. */
  placeholder(index: number): string;
  types: Readonly<Record<ColumnType, string>>;
  /** The UTC day (YYYY-MM-DD) of a column holding milliseconds since the epoch. */
  utcDay(column: string): string;
  /** A NULL of text type, for the group of an ungrouped total (PostgreSQL cannot type a bare NULL). */
  textNull: string;
}>;
