import { type Job, UnrecoverableError, WaitingError, Worker } from "bullmq";
import { settledWithin } from "../settled-within.ts";
import {
  type BullmqJobData,
  type BullmqJobStore,
  CANCELLED_REASON,
  STALLED_REASON,
} from "./bullmq-job-store.ts";
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

type Running = {
  job: Job<BullmqJobData>;
  controller: AbortController;
  interruption?: "cancelled" | "returned";
  interrupted: PromiseWithResolvers<void>;
};

/**
 * A BullMQ Worker running our processors. BullMQ renews each job's lock and moves a job whose
 * lock lapsed (its worker died) back to wait; a job that stalls more than `attempts - 1` times
 * fails, like one whose lease lapses too often in the SQLite queue, and goes to its type's
 * `onAbandoned` handler.
 */
export class BullmqJobWorker implements JobWorker {
  readonly #store: BullmqJobStore;
  readonly #options: JobWorkerOptions;
  readonly #worker: Worker<BullmqJobData>;
  readonly #running = new Map<string, Running>();
  /** Handlers of abandoned jobs still at work; stop() lets them end. */
  readonly #releasing = new Set<Promise<void>>();
  readonly #cancelTimer: NodeJS.Timeout;
  readonly #retentionTimer: NodeJS.Timeout;
  #stopped: Promise<void> | undefined;

  constructor(store: BullmqJobStore, options: JobWorkerOptions) {
    this.#store = store;
    this.#options = options;
    const { name, prefix, redisUrl, leaseMs, attempts } = store.options;
    this.#worker = new Worker<BullmqJobData>(name, (job, token) => this.#process(job, token), {
      connection: { url: redisUrl, maxRetriesPerRequest: null },
      prefix,
      concurrency: options.concurrency,
      lockDuration: leaseMs,
      stalledInterval: Math.max(500, Math.floor(leaseMs / 2)),
      maxStalledCount: Math.max(0, attempts - 1),
      // Shorter than BullMQ's 5 s so that an idle worker notices a closed connection soon.
      drainDelay: 1,
    });
    this.#worker.on("error", (error) => options.onError?.(error));
    this.#worker.on("failed", (job, error) => {
      if (!job) return;
      // The cancelled record is kept by the store; the BullMQ job is no longer needed.
      if (error?.message === CANCELLED_REASON) void store.forgetCancelledJob(job.id!).catch(() => {});
      // Stalled too often: BullMQ failed it for good here without running our processor (it is
      // emitted once the failure is written), so nothing else releases what the job held.
      if (error?.message === STALLED_REASON) {
        const abandoned = {
          id: job.id!,
          type: job.name,
          payload: job.data.payload,
          state: "failed" as const,
        };
        const release = notifyJobAbandoned(abandoned, options).finally(() => this.#releasing.delete(release));
        this.#releasing.add(release);
      }
    });
    // BullMQ has no cancel signal of its own: look for cancel requests of the jobs we hold.
    this.#cancelTimer = setInterval(() => void this.#checkCancelRequests(), 500);
    this.#retentionTimer = setInterval(() => void store.removeExpired().catch(() => {}), 60_000);
  }

  async #process(job: Job<BullmqJobData>, token: string | undefined): Promise<unknown> {
    const startedAt = performance.now();
    const entry: Running = {
      job,
      controller: new AbortController(),
      interrupted: Promise.withResolvers<void>(),
    };
    this.#running.set(job.id!, entry);
    let progress = this.#store.progressOf(job);
    const finishedListeners: JobFinishedListener[] = [];
    const runningJob: RunningJob = {
      id: job.id!,
      type: job.name,
      payload: job.data.payload,
      source: job.data.source,
      attempt: job.attemptsStarted,
      signal: entry.controller.signal,
      reportProgress: async (percent) => {
        if (entry.interruption) throw new JobCancelledError();
        const next = Math.max(progress, clampProgress(percent));
        if (next > progress) {
          progress = next;
          await this.#store.writeProgress(job, next);
        }
        if (await this.#store.isCancelRequested(job.id!)) this.#interrupt(entry, "cancelled");
        if (entry.interruption) throw new JobCancelledError();
      },
      onFinished: (listener) => {
        finishedListeners.push(listener);
      },
    };

    // Until a branch below settles it, nothing was recorded: a write that throws (Redis gone) leaves
    // the job to BullMQ's retry or stall recovery, so it may run again.
    let state: JobFinishedState = "returned";
    try {
      const processor = processorFor(this.#options.processors, job.name);
      // A processor that ignores its signal must not hold the job once it was interrupted.
      const result = await Promise.race([processor(runningJob), entry.interrupted.promise]);
      if (!entry.interruption) {
        state = "completed";
        return result;
      }
      throw new JobCancelledError();
    } catch (error) {
      if (entry.interruption === "returned") {
        await job.moveToWait(token);
        throw new WaitingError();
      }
      if (entry.interruption === "cancelled" || error instanceof JobCancelledError) {
        const cancelled = { ...this.#store.recordOf(job, "cancelled"), progress, updatedAt: Date.now() };
        await this.#store.writeCancelled(cancelled);
        state = "cancelled";
        throw new UnrecoverableError(CANCELLED_REASON);
      }
      const failure = jobFailure(error);
      // A failure the processor reported on purpose is the job's outcome, not the worker's error.
      if (failure.retryable) this.#options.onError?.(error, job.id);
      const final = !failure.retryable || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      state = final ? "failed" : "retrying";
      const reason = this.#store.failedReasonFor(failure);
      throw failure.retryable ? new Error(reason) : new UnrecoverableError(reason);
    } finally {
      this.#running.delete(job.id!);
      await notifyJobFinished(finishedListeners, state, job.id!, this.#options.onError);
      this.#options.onJobFinished?.(job.name, state, performance.now() - startedAt);
    }
  }

  #interrupt(entry: Running, reason: NonNullable<Running["interruption"]>): void {
    if (entry.interruption) return;
    entry.interruption = reason;
    entry.controller.abort(new JobCancelledError());
    entry.interrupted.resolve();
  }

  async #checkCancelRequests(): Promise<void> {
    const ids = [...this.#running.keys()];
    if (ids.length === 0) return;
    try {
      const flags = await this.#store.cancelRequestedAmong(ids);
      ids.forEach((id, index) => {
        const entry = this.#running.get(id);
        if (entry && flags[index]) this.#interrupt(entry, "cancelled");
      });
    } catch (error) {
      this.#options.onError?.(error);
    }
  }

  stop(options: { timeoutMs: number }): Promise<void> {
    this.#stopped ??= this.#stop(options.timeoutMs);
    return this.#stopped;
  }

  async #stop(timeoutMs: number): Promise<void> {
    clearInterval(this.#cancelTimer);
    clearInterval(this.#retentionTimer);
    // close() stops fetching at once and resolves when the running jobs are done.
    const closed = this.#worker.close();
    if (!(await settledWithin(closed, timeoutMs))) {
      // Past the window: each remaining job goes back to wait (see #process) and close() ends.
      for (const entry of this.#running.values()) this.#interrupt(entry, "returned");
      await settledWithin(closed, 2000, { unref: true });
    }
    await settledWithin(Promise.all(this.#releasing), 1000, { unref: true });
  }
}
