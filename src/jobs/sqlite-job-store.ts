import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";
import type { ErrorCode } from "../errors/error-codes.ts";
import { inTransaction, openSqliteDatabase } from "../storage/open-sqlite-database.ts";
import type { JobFailure } from "./job-failure.ts";
import type { EnqueueOptions, JobCounts, JobPage, ListJobsOptions } from "./job-producer.ts";
import { type JobRecord, type JobStatus, JobStatuses } from "./job-record.ts";
import type { AbandonedJob } from "./job-worker.ts";

export type SqliteJobQueueOptions = {
  /** The database file, e.g. `DATA_DIR/jobs.sqlite`. */
  file: string;
  attempts: number;
  /** How long finished jobs are kept. */
  retentionMs: number;
  /** How long a claimed job stays with its worker without a renewal. */
  leaseMs: number;
  /** First retry delay; doubles with each attempt. */
  backoffMs: number;
  /** How often an idle worker looks for work queued by another process. */
  pollIntervalMs?: number;
  /** How often `subscribe` reads the job. */
  watchIntervalMs?: number;
};

/** A job a worker has just claimed: what its processor needs, with the attempt it starts. */
export type ClaimedJob = {
  id: string;
  type: string;
  payload: unknown;
  source: string | null;
  progress: number;
  /** This attempt's number (1 for the first). */
  attempts: number;
  maxAttempts: number;
};

type JobRow = {
  id: string;
  type: string;
  status: JobStatus;
  source: string | null;
  payload: string;
  progress: number;
  result: string | null;
  error: string | null;
  error_code: string | null;
  attempts: number;
  max_attempts: number;
  created_at: number;
  updated_at: number;
};

/** What recovery reads back of a job it ended for good. */
type EndedRow = Pick<JobRow, "id" | "type" | "payload">;

const FINAL = "('completed', 'failed', 'cancelled')";
/** The conditions every write by a worker carries: it still holds the job's lease. */
const HELD = "id = ? AND lease_owner = ? AND status = 'running'";
const RELEASED = "lease_owner = NULL, lease_expires_at = NULL";

/**
 * The embedded queue's storage: one table in a WAL SQLite file, and every statement the producer
 * and the workers run on it. A worker claims jobs by writing its name and a lease expiry on them
 * and renews the lease while it works; a job whose lease lapsed (its worker died) goes back to
 * the queue with backoff, or fails once its attempts are spent. Every write a worker makes about
 * a job is conditional on still holding its lease, so a result is written once, by the worker
 * that owns the job.
 *
 * `events` carries `enqueued` (in-process workers wake instead of waiting for their next poll)
 * and `changed` with a job id (in-process subscribers read the job at once).
 */
export class SqliteJobStore {
  readonly options: Required<SqliteJobQueueOptions>;
  readonly events = new EventEmitter();
  readonly #database: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  #closed = false;

  constructor(options: SqliteJobQueueOptions) {
    this.options = { pollIntervalMs: 200, watchIntervalMs: 250, ...options };
    this.events.setMaxListeners(0);
    this.#database = openSqliteDatabase(options.file);
    // In one write transaction, so processes opening the same file at once migrate it once.
    inTransaction(this.#database, () => {
      this.#database.exec(`
        CREATE TABLE IF NOT EXISTS jobs (
          id TEXT PRIMARY KEY,
          type TEXT NOT NULL,
          status TEXT NOT NULL,
          source TEXT,
          payload TEXT NOT NULL,
          progress INTEGER NOT NULL DEFAULT 0,
          result TEXT,
          error TEXT,
          error_code TEXT,
          attempts INTEGER NOT NULL DEFAULT 0,
          max_attempts INTEGER NOT NULL,
          run_at INTEGER NOT NULL,
          lease_owner TEXT,
          lease_expires_at INTEGER,
          cancel_requested INTEGER NOT NULL DEFAULT 0,
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL,
          finished_at INTEGER
        );
        CREATE INDEX IF NOT EXISTS jobs_by_readiness ON jobs (status, run_at);
        CREATE INDEX IF NOT EXISTS jobs_by_lease ON jobs (status, lease_expires_at);
        CREATE INDEX IF NOT EXISTS jobs_by_status_and_age ON jobs (status, created_at);
        CREATE INDEX IF NOT EXISTS jobs_by_age ON jobs (created_at);
        CREATE INDEX IF NOT EXISTS jobs_by_finish ON jobs (finished_at) WHERE finished_at IS NOT NULL;
      `);
      // Files written before failures had codes: their old errors keep a null code.
      const columns = this.#database.prepare("PRAGMA table_info(jobs)").all() as { name: string }[];
      if (!columns.some((column) => column.name === "error_code")) {
        this.#database.exec("ALTER TABLE jobs ADD COLUMN error_code TEXT");
      }
    });
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  // The producer's statements.

  insert(options: EnqueueOptions): JobRecord {
    const now = Date.now();
    const row = this.#statement(
      `INSERT INTO jobs (id, type, status, source, payload, max_attempts, run_at, created_at, updated_at)
       VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?) RETURNING *`,
    ).get(
      randomUUID(),
      options.type,
      options.source ?? null,
      JSON.stringify(options.payload ?? null),
      options.maxAttempts ?? this.options.attempts,
      now,
      now,
      now,
    ) as JobRow;
    this.events.emit("enqueued");
    return toRecord(row);
  }

  read(id: string): JobRecord | undefined {
    const row = this.#statement("SELECT * FROM jobs WHERE id = ?").get(id) as JobRow | undefined;
    return row ? toRecord(row) : undefined;
  }

  page(options: ListJobsOptions): JobPage {
    const conditions: string[] = [];
    const filter: SQLInputValue[] = [];
    if (options.status) {
      conditions.push("status = ?");
      filter.push(options.status);
    }
    if (options.owner === null) conditions.push("json_extract(payload, '$.owner') IS NULL");
    else if (options.owner !== undefined) {
      conditions.push("json_extract(payload, '$.owner') = ?");
      filter.push(options.owner);
    }
    const where = conditions.length > 0 ? `WHERE ${conditions.join(" AND ")}` : "";
    const rows = this.#statement(
      `SELECT * FROM jobs ${where} ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?`,
    ).all(...filter, options.limit, options.offset) as JobRow[];
    const { total } = this.#statement(`SELECT count(*) AS total FROM jobs ${where}`).get(...filter) as {
      total: number;
    };
    return { jobs: rows.map(toRecord), total };
  }

  /** Cancels a queued job at once, or flags a running one for its worker to see. */
  cancel(id: string): void {
    const now = Date.now();
    const cancelled = this.#run(
      `UPDATE jobs SET status = 'cancelled', finished_at = ?, updated_at = ?, lease_owner = NULL
       WHERE id = ? AND status = 'queued'`,
      now,
      now,
      id,
    );
    if (cancelled === 0) {
      // Its worker sees the flag at its next progress report or lease renewal.
      this.#run(
        "UPDATE jobs SET cancel_requested = 1, updated_at = ? WHERE id = ? AND status = 'running'",
        now,
        id,
      );
    }
    this.events.emit("changed", id);
  }

  counts(): JobCounts {
    const rows = this.#statement("SELECT status, count(*) AS count FROM jobs GROUP BY status").all() as {
      status: JobStatus;
      count: number;
    }[];
    const counts = Object.fromEntries(JobStatuses.map((status) => [status, 0])) as JobCounts;
    for (const row of rows) counts[row.status] = row.count;
    return counts;
  }

  ping(): void {
    this.#statement("SELECT 1").get();
  }

  // The workers' statements: each names the worker (`owner`) that must hold the job's lease.

  /** Takes up to `limit` jobs that are due, oldest first, starting an attempt of each. */
  claim(owner: string, limit: number): ClaimedJob[] {
    const now = Date.now();
    const rows = this.#statement(
      `UPDATE jobs SET status = 'running', lease_owner = ?, lease_expires_at = ?,
         attempts = attempts + 1, updated_at = ?
       WHERE id IN (SELECT id FROM jobs WHERE status = 'queued' AND run_at <= ?
                    ORDER BY run_at, rowid LIMIT ?)
       RETURNING *`,
    ).all(owner, now + this.options.leaseMs, now, now, limit) as JobRow[];
    return rows.map((row) => ({
      id: row.id,
      type: row.type,
      payload: JSON.parse(row.payload),
      source: row.source,
      progress: row.progress,
      attempts: row.attempts,
      maxAttempts: row.max_attempts,
    }));
  }

  /** Raises a held job's progress; says whether the lease is still held and a cancel was asked for. */
  recordProgress(id: string, owner: string, percent: number): { held: boolean; cancelRequested: boolean } {
    const held = this.#statement(
      `UPDATE jobs SET progress = max(progress, ?), updated_at = ? WHERE ${HELD} RETURNING cancel_requested`,
    ).get(percent, Date.now(), id, owner) as { cancel_requested: number } | undefined;
    this.events.emit("changed", id);
    return { held: held !== undefined, cancelRequested: held?.cancel_requested === 1 };
  }

  complete(id: string, owner: string, result: unknown): void {
    const now = Date.now();
    this.#run(
      `UPDATE jobs SET status = 'completed', result = ?, progress = 100, error = NULL, error_code = NULL,
         ${RELEASED}, finished_at = ?, updated_at = ?
       WHERE ${HELD}`,
      JSON.stringify(result ?? null),
      now,
      now,
      id,
      owner,
    );
    this.events.emit("changed", id);
  }

  fail(id: string, owner: string, failure: JobFailure): void {
    const now = Date.now();
    this.#run(
      `UPDATE jobs SET status = 'failed', error = ?, error_code = ?, ${RELEASED}, finished_at = ?, updated_at = ?
       WHERE ${HELD}`,
      failure.message,
      failure.code,
      now,
      now,
      id,
      owner,
    );
    this.events.emit("changed", id);
  }

  /** Queues a failed attempt again after the backoff for attempt `attempt`, keeping its failure. */
  retryLater(id: string, owner: string, failure: JobFailure, attempt: number): void {
    const now = Date.now();
    this.#run(
      `UPDATE jobs SET status = 'queued', error = ?, error_code = ?, ${RELEASED}, run_at = ?, updated_at = ?
       WHERE ${HELD}`,
      failure.message,
      failure.code,
      now + backoffDelayMs(this.options.backoffMs, attempt),
      now,
      id,
      owner,
    );
    this.events.emit("changed", id);
  }

  markCancelled(id: string, owner: string): void {
    const now = Date.now();
    this.#run(
      `UPDATE jobs SET status = 'cancelled', ${RELEASED}, finished_at = ?, updated_at = ? WHERE ${HELD}`,
      now,
      now,
      id,
      owner,
    );
    this.events.emit("changed", id);
  }

  /** Gives a held job back to the queue at shutdown; the attempt it was on does not count. */
  giveBack(id: string, owner: string): void {
    const now = Date.now();
    this.#run(
      `UPDATE jobs SET status = 'queued', attempts = max(attempts - 1, 0), ${RELEASED}, run_at = ?, updated_at = ?
       WHERE ${HELD}`,
      now,
      now,
      id,
      owner,
    );
    this.events.emit("changed", id);
  }

  /** Extends the lease of every job `owner` holds; answers those whose cancel was asked for. */
  renewLeases(owner: string): string[] {
    this.#run(
      "UPDATE jobs SET lease_expires_at = ? WHERE lease_owner = ? AND status = 'running'",
      Date.now() + this.options.leaseMs,
      owner,
    );
    const cancelled = this.#statement(
      "SELECT id FROM jobs WHERE lease_owner = ? AND status = 'running' AND cancel_requested = 1",
    ).all(owner) as { id: string }[];
    return cancelled.map((row) => row.id);
  }

  /**
   * Returns jobs whose lease lapsed (their worker died) to the queue with backoff; one that has
   * spent its attempts fails, one whose cancel was requested is cancelled. Answers the jobs it
   * ended for good, whose processors never learn of it, so that their worker releases what they held.
   */
  recoverLapsedLeases(now = Date.now()): AbandonedJob[] {
    const lapsed = "status = 'running' AND lease_expires_at < ?";
    const released = `${RELEASED}, updated_at = ?`;
    const code: ErrorCode = "JOB_LEASE_EXPIRED";
    const cancelled = this.#statement(
      `UPDATE jobs SET status = 'cancelled', finished_at = ?, ${released} WHERE ${lapsed} AND cancel_requested = 1
       RETURNING id, type, payload`,
    ).all(now, now, now) as EndedRow[];
    const failed = this.#statement(
      `UPDATE jobs SET status = 'failed', finished_at = ?, ${released}, error_code = ?,
         error = 'The worker running this job stopped ' || attempts || ' time(s); giving up.'
       WHERE ${lapsed} AND attempts >= max_attempts
       RETURNING id, type, payload`,
    ).all(now, now, code, now) as EndedRow[];
    this.#run(
      `UPDATE jobs SET status = 'queued', ${released}, error_code = ?,
         run_at = ? + ? * (1 << min(attempts - 1, 10)),
         error = 'The worker running this job stopped; retrying.'
       WHERE ${lapsed}`,
      now,
      code,
      now,
      this.options.backoffMs,
      now,
    );
    return [
      ...cancelled.map((row) => abandoned(row, "cancelled")),
      ...failed.map((row) => abandoned(row, "failed")),
    ];
  }

  /** Deletes jobs that finished before the retention window. */
  removeExpired(now = Date.now()): number {
    return this.#run(
      `DELETE FROM jobs WHERE status IN ${FINAL} AND finished_at < ?`,
      now - this.options.retentionMs,
    );
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.events.removeAllListeners();
    this.#database.close();
  }

  /** Prepared once and reused: preparing is most of the cost of a small statement. */
  #statement(sql: string): StatementSync {
    let prepared = this.#statements.get(sql);
    if (!prepared) {
      prepared = this.#database.prepare(sql);
      this.#statements.set(sql, prepared);
    }
    return prepared;
  }

  #run(sql: string, ...parameters: SQLInputValue[]): number {
    return Number(this.#statement(sql).run(...parameters).changes);
  }
}

/** Exponential backoff: base, 2×base, 4×base… capped at ten minutes. */
function backoffDelayMs(baseMs: number, attempt: number): number {
  return Math.min(600_000, baseMs * 2 ** Math.max(0, attempt - 1));
}

function abandoned(row: EndedRow, state: AbandonedJob["state"]): AbandonedJob {
  return { id: row.id, type: row.type, payload: JSON.parse(row.payload), state };
}

function toRecord(row: JobRow): JobRecord {
  return {
    id: row.id,
    type: row.type,
    status: row.status,
    progress: row.progress,
    source: row.source,
    payload: JSON.parse(row.payload),
    result: row.result === null ? null : JSON.parse(row.result),
    error: row.error,
    errorCode: row.error === null ? null : (row.error_code as ErrorCode | null),
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
