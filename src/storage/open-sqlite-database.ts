import { mkdirSync } from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";

/**
 * Opens (creating when needed) a SQLite file in WAL mode, so readers never wait for the writer
 * and several processes (the API and `npm run worker`) can share the file.
 */
export function openSqliteDatabase(file: string, options: { allowExtension?: boolean } = {}): DatabaseSync {
  if (file !== ":memory:") mkdirSync(path.dirname(file), { recursive: true });
  const database = new DatabaseSync(file, { allowExtension: options.allowExtension ?? false });
  database.exec("PRAGMA journal_mode = WAL");
  // Another process holding the write lock makes us wait rather than fail at once.
  database.exec("PRAGMA busy_timeout = 10000");
  // In WAL mode NORMAL loses no committed transaction on a process crash, only on power loss.
  database.exec("PRAGMA synchronous = NORMAL");
  database.exec("PRAGMA foreign_keys = ON");
  return database;
}

/** Runs `work` in one immediate transaction (the write lock is taken up front, so no upgrade deadlock). */
export function inTransaction<T>(database: DatabaseSync, work: () => T): T {
  database.exec("BEGIN IMMEDIATE");
  try {
    const result = work();
    database.exec("COMMIT");
    return result;
  } catch (error) {
    if (database.isTransaction) database.exec("ROLLBACK");
    throw error;
  }
}
