import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { settledWithin } from "../settled-within.ts";
import { clampProgress } from "./clamp-progress.ts";
import { JobCancelledError } from "./job-cancelled-error.ts";
import { jobFailure } from "./job-failure.ts";
import type {
  JobFinishedListener,
  JobFinishedState,
  JobWorker,
  JobWorkerOptions,
  RunningJob,
} from "./job-worker.ts";
import { notifyJobAbandoned } from "./notify-job-abandoned.ts";
import { notifyJobFinished } from "./notify-job-finished.ts";
import { processorFor } from "./processor-for.ts";
import type { ClaimedJob, SqliteJobStore } from "./sqlite-job-store.ts";

type Running = {
  controller: AbortController;
  /** Why the job was interrupted, once it was. */
  interruption?: "cancelled" | "returned" | "lease-lost";
  done: Promise<void>;
};

/**
 * Claims jobs from a SqliteJobStore and runs them, `concurrency` at a time, renewing the lease
 * of every job it holds. Several workers (threads of this process or other processes) can share
 * one queue file: each claim is one atomic UPDATE.
 */
export class SqliteJobWorker implements JobWorker {
  readonly #store: SqliteJobStore;
  readonly #options: JobWorkerOptions;
  readonly #owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  readonly #running = new Map<string, Running>();
  /** Handlers of abandoned jobs still at work; stop() lets them end. */
  readonly #releasing = new Set<Promise<void>>();
  #stopping = false;
  #wake: (() => void) | undefined;
  readonly #loop: Promise<void>;
  readonly #renewTimer: NodeJS.Timeout;
  readonly #recoverTimer: NodeJS.Timeout;
  readonly #retentionTimer: NodeJS.Timeout;

  constructor(store: SqliteJobStore, options: JobWorkerOptions) {
    this.#store = store;
    this.#options = options;
    const { leaseMs } = store.options;
    const onEnqueued = () => this.#wake?.();
    store.events.on("enqueued", onEnqueued);
    this.#renewTimer = setInterval(() => this.#guard(() => this.#renewLeases()), Math.max(50, leaseMs / 3));
    this.#recoverTimer = setInterval(() => this.#guard(() => this.#recover()), Math.max(50, leaseMs / 2));
    this.#retentionTimer = setInterval(() => this.#guard(() => store.removeExpired()), 60_000);
    this.#guard(() => this.#recover());
    this.#guard(() => store.removeExpired());
    this.#loop = this.#run().finally(() => store.events.off("enqueued", onEnqueued));
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      const free = this.#options.concurrency - this.#running.size;
      let claimed: ClaimedJob[] = [];
      if (free > 0) {
        try {
          claimed = this.#store.claim(this.#owner, free);
        } catch (error) {
          this.#options.onError?.(error);
        }
        for (const job of claimed) this.#start(job);
      }
      // Claim again at once while there is work and room; otherwise wait for a slot, an
      // enqueue in this process, or the poll interval (work queued by another process).
      if (claimed.length === 0 || claimed.length === free) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, claimed.length === 0 ? this.#store.options.pollIntervalMs : 0);
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wake = undefined;
      }
    }
  }

  #start(claimed: ClaimedJob): void {
    const controller = new AbortController();
    const entry = { controller } as Running;
    entry.done = this.#execute(claimed, entry).finally(() => {
      this.#running.delete(claimed.id);
      this.#wake?.();
    });
    this.#running.set(claimed.id, entry);
  }

  async #execute(claimed: ClaimedJob, entry: Running): Promise<void> {
    const startedAt = performance.now();
    let progress = claimed.progress;
    const finishedListeners: JobFinishedListener[] = [];
    const job: RunningJob = {
      id: claimed.id,
      type: claimed.type,
      payload: claimed.payload,
      source: claimed.source,
      attempt: claimed.attempts,
      signal: entry.controller.signal,
      reportProgress: async (percent) => {
        if (entry.interruption) throw new JobCancelledError();
        progress = Math.max(progress, clampProgress(percent));
        const lease = this.#store.recordProgress(claimed.id, this.#owner, progress);
        if (!lease.held) this.#interrupt(claimed.id, "lease-lost");
        else if (lease.cancelRequested) this.#interrupt(claimed.id, "cancelled");
        if (entry.interruption) throw new JobCancelledError();
      },
      onFinished: (listener) => {
        finishedListeners.push(listener);
      },
    };

    let state: JobFinishedState;
    try {
      const processor = processorFor(this.#options.processors, claimed.type);
      const result = await processor(job);
      state = this.#finish(claimed, entry, () => {
        this.#store.complete(claimed.id, this.#owner, result);
        return "completed";
      });
    } catch (error) {
      state = this.#finish(claimed, entry, () => this.#fail(claimed, error));
    }
    await notifyJobFinished(finishedListeners, state, claimed.id, this.#options.onError);
    this.#options.onJobFinished?.(claimed.type, state, performance.now() - startedAt);
  }

  /** Records the outcome unless the job was taken from us; a write to a closed store is dropped. */
  #finish(claimed: ClaimedJob, entry: Running, record: () => JobFinishedState): JobFinishedState {
    if (entry.interruption === "returned" || entry.interruption === "lease-lost") return "returned";
    if (this.#store.isClosed) return "returned";
    try {
      if (entry.interruption === "cancelled") {
        this.#store.markCancelled(claimed.id, this.#owner);
        return "cancelled";
      }
      return record();
    } catch (error) {
      this.#options.onError?.(error, claimed.id);
      return "returned";
    }
  }

  #fail(claimed: ClaimedJob, error: unknown): JobFinishedState {
    if (error instanceof JobCancelledError) {
      this.#store.markCancelled(claimed.id, this.#owner);
      return "cancelled";
    }
    const failure = jobFailure(error);
    // A failure the processor reported on purpose is the job's outcome, not the worker's error.
    if (failure.retryable) this.#options.onError?.(error, claimed.id);
    if (!failure.retryable || claimed.attempts >= claimed.maxAttempts) {
      this.#store.fail(claimed.id, this.#owner, failure);
      return "failed";
    }
    this.#store.retryLater(claimed.id, this.#owner, failure, claimed.attempts);
    return "retrying";
  }

  #interrupt(id: string, reason: NonNullable<Running["interruption"]>): void {
    const entry = this.#running.get(id);
    if (!entry || entry.interruption) return;
    entry.interruption = reason;
    entry.controller.abort(new JobCancelledError());
  }

  /**
   * Recovers the jobs of workers that died. Those it ended for good have no processor alive to
   * release what they held (an upload's bytes), so their type's handler does it here.
   */
  #recover(): void {
    for (const job of this.#store.recoverLapsedLeases()) {
      const release = notifyJobAbandoned(job, this.#options).finally(() => this.#releasing.delete(release));
      this.#releasing.add(release);
    }
  }

  #renewLeases(): void {
    if (this.#running.size === 0) return;
    for (const id of this.#store.renewLeases(this.#owner)) this.#interrupt(id, "cancelled");
  }

  #guard(work: () => unknown): void {
    if (this.#store.isClosed) return;
    try {
      work();
    } catch (error) {
      this.#options.onError?.(error);
    }
  }

  async stop(options: { timeoutMs: number }): Promise<void> {
    if (!this.#stopping) {
      this.#stopping = true;
      // Nothing more is recovered here, so the handlers waited for below are all there will be.
      clearInterval(this.#recoverTimer);
      this.#wake?.();
      await this.#loop;
      const allDone = () => Promise.all([...this.#running.values()].map((entry) => entry.done));
      await settledWithin(allDone(), options.timeoutMs);
      // Past the window: give the remaining jobs back (this attempt does not count) before
      // aborting them, so whatever their processors do next cannot record an outcome.
      for (const id of this.#running.keys()) {
        this.#guard(() => this.#store.giveBack(id, this.#owner));
        this.#interrupt(id, "returned");
      }
      // Processors that honour their signal end promptly; do not wait for one that does not.
      await settledWithin(allDone(), 1000, { unref: true });
      await settledWithin(Promise.all(this.#releasing), 1000, { unref: true });
    }
    clearInterval(this.#renewTimer);
    clearInterval(this.#recoverTimer);
    clearInterval(this.#retentionTimer);
  }
}
