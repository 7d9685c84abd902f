import type { DatabaseSync } from "node:sqlite";
import { openSqliteDatabase } from "../../src/storage/open-sqlite-database.ts";

/**
 * A results file shared by the fault tests and the worker processes they kill: every run of a
 * job adds an `executions` row, and a finished run writes its result keyed by job id (once).
 */
export function openFaultResults(file: string): DatabaseSync {
  const database = openSqliteDatabase(file);
  database.exec(`
    CREATE TABLE IF NOT EXISTS executions (job_id TEXT NOT NULL, pid INTEGER NOT NULL, finished INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE IF NOT EXISTS results (job_id TEXT PRIMARY KEY, pid INTEGER NOT NULL);
  `);
  return database;
}

export type FaultFigures = {
  /** Job ids with a result. */
  results: number;
  /** Runs started, over all processes. */
  executions: number;
  /** Runs that reached their end. */
  finishedRuns: number;
  /** Jobs started more than once. */
  jobsRunTwice: number;
};

export function faultFigures(database: DatabaseSync): FaultFigures {
  const one = (sql: string) => Number((database.prepare(sql).get() as { value: number }).value);
  return {
    results: one("SELECT count(*) AS value FROM results"),
    executions: one("SELECT count(*) AS value FROM executions"),
    finishedRuns: one("SELECT count(*) AS value FROM executions WHERE finished = 1"),
    jobsRunTwice: one(
      "SELECT count(*) AS value FROM (SELECT job_id FROM executions GROUP BY job_id HAVING count(*) > 1)",
    ),
  };
}
