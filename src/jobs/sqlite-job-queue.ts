import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";
import { openSqliteDatabase } from "../storage/open-sqlite-database.ts";
import {
  clampProgress,
  type EnqueueOptions,
  type JobCounts,
  type JobEventListener,
  type JobPage,
  type JobQueue,
  type JobRecord,
  type JobStatus,
  JobStatuses,
  type JobWorker,
  type JobWorkerOptions,
  type ListJobsOptions,
} from "./job-queue.ts";
import { SqliteJobWorker } from "./sqlite-job-worker.ts";
import { watchJob } from "./watch-job.ts";

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

type JobRow = {
  id: string;
  type: string;
  status: JobStatus;
  source: string | null;
  payload: string;
  progress: number;
  result: string | null;
  error: string | null;
  attempts: number;
  max_attempts: number;
  created_at: number;
  updated_at: number;
};

const FINAL = "('completed', 'failed', 'cancelled')";

/**
 * The embedded queue: one table in a WAL SQLite file. A worker claims jobs by writing its name
 * and a lease expiry on them and renews the lease while it works; a job whose lease lapsed (its
 * worker died) goes back to the queue with backoff, or fails once its attempts are spent. Every
 * write a worker makes about a job is conditional on still holding its lease, so a result is
 * written once, by the worker that owns the job.
 */
export class SqliteJobQueue implements JobQueue {
  readonly kind = "sqlite" as const;
  readonly options: Required<SqliteJobQueueOptions>;
  readonly database: DatabaseSync;
  /** In-process workers wake on `enqueued` instead of waiting for their next poll. */
  readonly events = new EventEmitter();
  #closed = false;
  readonly #statements = new Map<string, StatementSync>();

  constructor(options: SqliteJobQueueOptions) {
    this.options = { pollIntervalMs: 200, watchIntervalMs: 250, ...options };
    this.events.setMaxListeners(0);
    this.database = openSqliteDatabase(options.file);
    this.database.exec(`
      CREATE TABLE IF NOT EXISTS jobs (
        id TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        status TEXT NOT NULL,
        source TEXT,
        payload TEXT NOT NULL,
        progress INTEGER NOT NULL DEFAULT 0,
        result TEXT,
        error TEXT,
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
  }

  /** Prepared once and reused: preparing is most of the cost of a small statement. */
  statement(sql: string): StatementSync {
    let prepared = this.#statements.get(sql);
    if (!prepared) {
      prepared = this.database.prepare(sql);
      this.#statements.set(sql, prepared);
    }
    return prepared;
  }

  run(sql: string, ...parameters: SQLInputValue[]): number {
    return Number(this.statement(sql).run(...parameters).changes);
  }

  async enqueue(options: EnqueueOptions): Promise<JobRecord> {
    const now = Date.now();
    const id = randomUUID();
    const row = this.statement(
      `INSERT INTO jobs (id, type, status, source, payload, max_attempts, run_at, created_at, updated_at)
       VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?) RETURNING *`,
    ).get(
      id,
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

  async get(id: string): Promise<JobRecord | undefined> {
    const row = this.statement("SELECT * FROM jobs WHERE id = ?").get(id) as JobRow | undefined;
    return row ? toRecord(row) : undefined;
  }

  async list(options: ListJobsOptions): Promise<JobPage> {
    const where = options.status ? "WHERE status = ?" : "";
    const filter: SQLInputValue[] = options.status ? [options.status] : [];
    const rows = this.statement(
      `SELECT * FROM jobs ${where} ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?`,
    ).all(...filter, options.limit, options.offset) as JobRow[];
    const { total } = this.statement(`SELECT count(*) AS total FROM jobs ${where}`).get(...filter) as {
      total: number;
    };
    return { jobs: rows.map(toRecord), total };
  }

  async cancel(id: string): Promise<JobRecord | undefined> {
    const now = Date.now();
    const cancelled = this.run(
      `UPDATE jobs SET status = 'cancelled', finished_at = ?, updated_at = ?, lease_owner = NULL
       WHERE id = ? AND status = 'queued'`,
      now,
      now,
      id,
    );
    if (cancelled === 0) {
      // Its worker sees the flag at its next progress report or lease renewal.
      this.run(
        "UPDATE jobs SET cancel_requested = 1, updated_at = ? WHERE id = ? AND status = 'running'",
        now,
        id,
      );
    }
    return this.get(id);
  }

  async reportProgress(id: string, percent: number): Promise<void> {
    const progress = clampProgress(percent);
    this.run(
      "UPDATE jobs SET progress = ?, updated_at = ? WHERE id = ? AND status = 'running' AND progress < ?",
      progress,
      Date.now(),
      id,
      progress,
    );
  }

  subscribe(id: string, listener: JobEventListener): () => void {
    const watcher = watchJob((jobId) => this.get(jobId), id, listener, this.options.watchIntervalMs);
    const nudge = (changedId: string) => {
      if (changedId === id) watcher.nudge();
    };
    this.events.on("changed", nudge);
    return () => {
      watcher.stop();
      this.events.off("changed", nudge);
    };
  }

  async counts(): Promise<JobCounts> {
    const rows = this.statement("SELECT status, count(*) AS count FROM jobs GROUP BY status").all() as {
      status: JobStatus;
      count: number;
    }[];
    const counts = Object.fromEntries(JobStatuses.map((status) => [status, 0])) as JobCounts;
    for (const row of rows) counts[row.status] = row.count;
    return counts;
  }

  startWorker(options: JobWorkerOptions): JobWorker {
    return new SqliteJobWorker(this, options);
  }

  async ping(): Promise<void> {
    this.statement("SELECT 1").get();
  }

  /** Deletes jobs that finished before the retention window. */
  removeExpired(now = Date.now()): number {
    return this.run(
      `DELETE FROM jobs WHERE status IN ${FINAL} AND finished_at < ?`,
      now - this.options.retentionMs,
    );
  }

  /**
   * Returns jobs whose lease lapsed (their worker died) to the queue with backoff; one that has
   * spent its attempts fails, one whose cancel was requested is cancelled.
   */
  recoverLapsedLeases(now = Date.now()): number {
    const lapsed = "status = 'running' AND lease_expires_at < ?";
    const released = "lease_owner = NULL, lease_expires_at = NULL, updated_at = ?";
    let recovered = this.run(
      `UPDATE jobs SET status = 'cancelled', finished_at = ?, ${released} WHERE ${lapsed} AND cancel_requested = 1`,
      now,
      now,
      now,
    );
    recovered += this.run(
      `UPDATE jobs SET status = 'failed', finished_at = ?, ${released},
         error = 'The worker running this job stopped ' || attempts || ' time(s); giving up.'
       WHERE ${lapsed} AND attempts >= max_attempts`,
      now,
      now,
      now,
    );
    recovered += this.run(
      `UPDATE jobs SET status = 'queued', ${released},
         run_at = ? + ? * (1 << min(attempts - 1, 10)),
         error = 'The worker running this job stopped; retrying.'
       WHERE ${lapsed}`,
      now,
      now,
      this.options.backoffMs,
      now,
    );
    return recovered;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.events.removeAllListeners();
    this.database.close();
  }

  get isClosed(): boolean {
    return this.#closed;
  }
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
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export type { JobRow };
