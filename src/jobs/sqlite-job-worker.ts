import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { settledWithin } from "../settled-within.ts";
import { failureMessage } from "./failure-message.ts";
import {
  backoffDelayMs,
  clampProgress,
  JobCancelledError,
  type JobFinishedState,
  type JobWorker,
  type JobWorkerOptions,
  PermanentJobError,
  type RunningJob,
} from "./job-queue.ts";
import { processorFor } from "./processor-for.ts";
import type { JobRow, SqliteJobQueue } from "./sqlite-job-queue.ts";

type Running = {
  controller: AbortController;
  /** Why the job was interrupted, once it was. */
  interruption?: "cancelled" | "returned" | "lease-lost";
  done: Promise<void>;
};

/**
 * Claims jobs from a SqliteJobQueue and runs them, `concurrency` at a time, renewing the lease
 * of every job it holds. Several workers (threads of this process or other processes) can share
 * one queue file: each claim is one atomic UPDATE.
 */
export class SqliteJobWorker implements JobWorker {
  readonly #queue: SqliteJobQueue;
  readonly #options: JobWorkerOptions;
  readonly #owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  readonly #running = new Map<string, Running>();
  #stopping = false;
  #wake: (() => void) | undefined;
  readonly #loop: Promise<void>;
  readonly #renewTimer: NodeJS.Timeout;
  readonly #recoverTimer: NodeJS.Timeout;
  readonly #retentionTimer: NodeJS.Timeout;

  constructor(queue: SqliteJobQueue, options: JobWorkerOptions) {
    this.#queue = queue;
    this.#options = options;
    const { leaseMs } = queue.options;
    const onEnqueued = () => this.#wake?.();
    queue.events.on("enqueued", onEnqueued);
    this.#renewTimer = setInterval(() => this.#guard(() => this.#renewLeases()), Math.max(50, leaseMs / 3));
    this.#recoverTimer = setInterval(
      () => this.#guard(() => queue.recoverLapsedLeases()),
      Math.max(50, leaseMs / 2),
    );
    this.#retentionTimer = setInterval(() => this.#guard(() => queue.removeExpired()), 60_000);
    this.#guard(() => queue.recoverLapsedLeases());
    this.#guard(() => queue.removeExpired());
    this.#loop = this.#run().finally(() => queue.events.off("enqueued", onEnqueued));
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      const free = this.#options.concurrency - this.#running.size;
      let claimed: JobRow[] = [];
      if (free > 0) {
        try {
          claimed = this.#claim(free);
        } catch (error) {
          this.#options.onError?.(error);
        }
        for (const row of claimed) this.#start(row);
      }
      // Claim again at once while there is work and room; otherwise wait for a slot, an
      // enqueue in this process, or the poll interval (work queued by another process).
      if (claimed.length === 0 || claimed.length === free) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, claimed.length === 0 ? this.#queue.options.pollIntervalMs : 0);
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wake = undefined;
      }
    }
  }

  #claim(limit: number): JobRow[] {
    const now = Date.now();
    return this.#queue
      .statement(
        `UPDATE jobs SET status = 'running', lease_owner = ?, lease_expires_at = ?,
           attempts = attempts + 1, updated_at = ?
         WHERE id IN (SELECT id FROM jobs WHERE status = 'queued' AND run_at <= ?
                      ORDER BY run_at, rowid LIMIT ?)
         RETURNING *`,
      )
      .all(this.#owner, now + this.#queue.options.leaseMs, now, now, limit) as JobRow[];
  }

  #start(row: JobRow): void {
    const controller = new AbortController();
    const entry = { controller } as Running;
    entry.done = this.#execute(row, entry).finally(() => {
      this.#running.delete(row.id);
      this.#wake?.();
    });
    this.#running.set(row.id, entry);
  }

  async #execute(row: JobRow, entry: Running): Promise<void> {
    const startedAt = performance.now();
    const queue = this.#queue;
    const owner = this.#owner;
    let progress = row.progress;
    const job: RunningJob = {
      id: row.id,
      type: row.type,
      payload: JSON.parse(row.payload),
      source: row.source,
      attempt: row.attempts,
      signal: entry.controller.signal,
      reportProgress: async (percent) => {
        if (entry.interruption) throw new JobCancelledError();
        const next = Math.max(progress, clampProgress(percent));
        const held = queue
          .statement(
            `UPDATE jobs SET progress = max(progress, ?), updated_at = ?
             WHERE id = ? AND lease_owner = ? AND status = 'running' RETURNING cancel_requested`,
          )
          .get(next, Date.now(), row.id, owner) as { cancel_requested: number } | undefined;
        progress = next;
        queue.events.emit("changed", row.id);
        if (!held) this.#interrupt(row.id, "lease-lost");
        else if (held.cancel_requested === 1) this.#interrupt(row.id, "cancelled");
        if (entry.interruption) throw new JobCancelledError();
      },
    };

    let state: JobFinishedState;
    try {
      const processor = processorFor(this.#options.processors, row.type);
      const result = await processor(job);
      state = this.#finish(row, entry, () => this.#complete(row, result));
    } catch (error) {
      state = this.#finish(row, entry, () => this.#fail(row, error));
      if (!entry.interruption && !(error instanceof PermanentJobError))
        this.#options.onError?.(error, row.id);
    }
    queue.events.emit("changed", row.id);
    this.#options.onJobFinished?.(row.type, state, performance.now() - startedAt);
  }

  /** Records the outcome unless the job was taken from us; a write to a closed queue is dropped. */
  #finish(row: JobRow, entry: Running, record: () => JobFinishedState): JobFinishedState {
    if (entry.interruption === "returned" || entry.interruption === "lease-lost") return "returned";
    if (this.#queue.isClosed) return "returned";
    try {
      if (entry.interruption === "cancelled") return this.#markCancelled(row);
      return record();
    } catch (error) {
      this.#options.onError?.(error, row.id);
      return "returned";
    }
  }

  #complete(row: JobRow, result: unknown): JobFinishedState {
    const now = Date.now();
    this.#queue.run(
      `UPDATE jobs SET status = 'completed', result = ?, progress = 100, error = NULL,
         lease_owner = NULL, lease_expires_at = NULL, finished_at = ?, updated_at = ?
       WHERE id = ? AND lease_owner = ? AND status = 'running'`,
      JSON.stringify(result ?? null),
      now,
      now,
      row.id,
      this.#owner,
    );
    return "completed";
  }

  #fail(row: JobRow, error: unknown): JobFinishedState {
    if (error instanceof JobCancelledError) return this.#markCancelled(row);
    const now = Date.now();
    const message = failureMessage(error);
    const final = error instanceof PermanentJobError || row.attempts >= row.max_attempts;
    if (final) {
      this.#queue.run(
        `UPDATE jobs SET status = 'failed', error = ?, lease_owner = NULL, lease_expires_at = NULL,
           finished_at = ?, updated_at = ?
         WHERE id = ? AND lease_owner = ? AND status = 'running'`,
        message,
        now,
        now,
        row.id,
        this.#owner,
      );
      return "failed";
    }
    this.#queue.run(
      `UPDATE jobs SET status = 'queued', error = ?, lease_owner = NULL, lease_expires_at = NULL,
         run_at = ?, updated_at = ?
       WHERE id = ? AND lease_owner = ? AND status = 'running'`,
      message,
      now + backoffDelayMs(this.#queue.options.backoffMs, row.attempts),
      now,
      row.id,
      this.#owner,
    );
    return "retrying";
  }

  #markCancelled(row: JobRow): JobFinishedState {
    const now = Date.now();
    this.#queue.run(
      `UPDATE jobs SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL,
         finished_at = ?, updated_at = ?
       WHERE id = ? AND lease_owner = ? AND status = 'running'`,
      now,
      now,
      row.id,
      this.#owner,
    );
    return "cancelled";
  }

  #interrupt(id: string, reason: NonNullable<Running["interruption"]>): void {
    const entry = this.#running.get(id);
    if (!entry || entry.interruption) return;
    entry.interruption = reason;
    entry.controller.abort(new JobCancelledError());
  }

  #renewLeases(): void {
    if (this.#running.size === 0) return;
    const now = Date.now();
    this.#queue.run(
      "UPDATE jobs SET lease_expires_at = ? WHERE lease_owner = ? AND status = 'running'",
      now + this.#queue.options.leaseMs,
      this.#owner,
    );
    const cancelled = this.#queue
      .statement("SELECT id FROM jobs WHERE lease_owner = ? AND status = 'running' AND cancel_requested = 1")
      .all(this.#owner) as { id: string }[];
    for (const { id } of cancelled) this.#interrupt(id, "cancelled");
  }

  #guard(work: () => unknown): void {
    if (this.#queue.isClosed) return;
    try {
      work();
    } catch (error) {
      this.#options.onError?.(error);
    }
  }

  async stop(options: { timeoutMs: number }): Promise<void> {
    if (!this.#stopping) {
      this.#stopping = true;
      this.#wake?.();
      await this.#loop;
      const allDone = () => Promise.all([...this.#running.values()].map((entry) => entry.done));
      await settledWithin(allDone(), options.timeoutMs);
      // Past the window: give the remaining jobs back (this attempt does not count) before
      // aborting them, so whatever their processors do next cannot record an outcome.
      for (const [id, entry] of this.#running) {
        this.#guard(() =>
          this.#queue.run(
            `UPDATE jobs SET status = 'queued', attempts = max(attempts - 1, 0), lease_owner = NULL,
               lease_expires_at = NULL, run_at = ?, updated_at = ?
             WHERE id = ? AND lease_owner = ? AND status = 'running'`,
            Date.now(),
            Date.now(),
            id,
            this.#owner,
          ),
        );
        this.#interrupt(id, "returned");
        void entry;
      }
      // Processors that honour their signal end promptly; do not wait for one that does not.
      await settledWithin(allDone(), 1000, { unref: true });
    }
    clearInterval(this.#renewTimer);
    clearInterval(this.#recoverTimer);
    clearInterval(this.#retentionTimer);
  }
}
