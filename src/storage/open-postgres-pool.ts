import pg from "pg";

export type PostgresPoolOptions = {
  connectionString: string;
  /** Every connection sees this schema first, so queries need no prefix (tests give each run its own). */
  schema?: string;
  maxConnections: number;
  /** How long to wait for a connection; undefined waits as long as it takes (pg's default). */
  connectionTimeoutMs?: number;
  /** How the connections are named in `pg_stat_activity`. */
  applicationName: string;
};

/**
 * A connection pool for one of the service's PostgreSQL stores. An idle connection the server
 * dropped (a restart, a failover) must not crash the process: the pool replaces it, and the next
 * query reports any lasting problem.
 */
export function openPostgresPool(options: PostgresPoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.maxConnections,
    connectionTimeoutMillis: options.connectionTimeoutMs,
    options: options.schema ? `-c search_path=${quoteIdentifier(options.schema)}` : undefined,
    application_name: options.applicationName,
  });
  pool.on("error", () => {});
  return pool;
}

/** A name (a schema) as SQL quotes it, inner quotes doubled. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
