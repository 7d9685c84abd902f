import { type Job, UnrecoverableError, WaitingError, Worker } from "bullmq";
import { settledWithin } from "../settled-within.ts";
import { type BullmqJobData, type BullmqJobQueue, CANCELLED_REASON, progressOf } from "./bullmq-job-queue.ts";
import { failureMessage } from "./failure-message.ts";
import {
  clampProgress,
  JobCancelledError,
  type JobFinishedState,
  type JobRecord,
  type JobWorker,
  type JobWorkerOptions,
  PermanentJobError,
  type RunningJob,
} from "./job-queue.ts";
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
 * fails, like one whose lease lapses too often in the SQLite queue.
 */
export class BullmqJobWorker implements JobWorker {
  readonly #queue: BullmqJobQueue;
  readonly #options: JobWorkerOptions;
  readonly #worker: Worker<BullmqJobData>;
  readonly #running = new Map<string, Running>();
  readonly #cancelTimer: NodeJS.Timeout;
  readonly #retentionTimer: NodeJS.Timeout;
  #stopped: Promise<void> | undefined;

  constructor(queue: BullmqJobQueue, options: JobWorkerOptions) {
    this.#queue = queue;
    this.#options = options;
    const { leaseMs, attempts } = queue.options;
    this.#worker = new Worker<BullmqJobData>(queue.options.name, (job, token) => this.#process(job, token), {
      connection: { url: queue.options.redisUrl, maxRetriesPerRequest: null },
      prefix: queue.options.prefix,
      concurrency: options.concurrency,
      lockDuration: leaseMs,
      stalledInterval: Math.max(500, Math.floor(leaseMs / 2)),
      maxStalledCount: Math.max(0, attempts - 1),
      // Shorter than BullMQ's 5 s so that an idle worker notices a closed connection soon.
      drainDelay: 1,
    });
    this.#worker.on("error", (error) => options.onError?.(error));
    this.#worker.on("failed", (job, error) => {
      if (job && error?.message === CANCELLED_REASON) {
        // The cancelled record is kept by the queue; the BullMQ job is no longer needed.
        void this.#queue.queue.remove(job.id!).catch(() => {});
        void this.#queue.redis.srem(this.#queue.keys.cancelRequested, job.id!).catch(() => {});
      }
    });
    // BullMQ has no cancel signal of its own: look for cancel requests of the jobs we hold.
    this.#cancelTimer = setInterval(() => void this.#checkCancelRequests(), 500);
    this.#retentionTimer = setInterval(() => void queue.removeExpired().catch(() => {}), 60_000);
  }

  async #process(job: Job<BullmqJobData>, token: string | undefined): Promise<unknown> {
    const startedAt = performance.now();
    const entry: Running = {
      job,
      controller: new AbortController(),
      interrupted: Promise.withResolvers<void>(),
    };
    this.#running.set(job.id!, entry);
    let progress = progressOf(job).percent;
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
          await job.updateProgress({ percent: next, at: Date.now() });
        }
        if (await this.#queue.isCancelRequested(job.id!)) this.#interrupt(entry, "cancelled");
        if (entry.interruption) throw new JobCancelledError();
      },
    };

    let state: JobFinishedState = "failed";
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
        state = "returned";
        await job.moveToWait(token);
        throw new WaitingError();
      }
      if (entry.interruption === "cancelled" || error instanceof JobCancelledError) {
        state = "cancelled";
        await this.#queue.writeCancelled(this.#cancelledRecord(job, progress));
        throw new UnrecoverableError(CANCELLED_REASON);
      }
      const message = failureMessage(error);
      if (!(error instanceof PermanentJobError)) this.#options.onError?.(error, job.id);
      const final = error instanceof PermanentJobError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      state = final ? "failed" : "retrying";
      throw error instanceof PermanentJobError ? new UnrecoverableError(message) : new Error(message);
    } finally {
      this.#running.delete(job.id!);
      this.#options.onJobFinished?.(job.name, state, performance.now() - startedAt);
    }
  }

  #cancelledRecord(job: Job<BullmqJobData>, progress: number): JobRecord {
    const now = Date.now();
    return {
      ...this.#queue.toRecord(job, "cancelled"),
      progress,
      error: null,
      updatedAt: now,
    };
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
      const flags = await this.#queue.redis.smismember(this.#queue.keys.cancelRequested, ...ids);
      ids.forEach((id, index) => {
        const entry = this.#running.get(id);
        if (entry && flags[index] === 1) this.#interrupt(entry, "cancelled");
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
  }
}
