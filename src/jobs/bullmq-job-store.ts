import { randomUUID } from "node:crypto";
import { type Job, type JobType, Queue } from "bullmq";
import { Redis } from "ioredis";
import { type ErrorCode, ErrorCodes } from "../errors/error-codes.ts";
import { clampProgress } from "./clamp-progress.ts";
import type { JobFailure } from "./job-failure.ts";
import type { EnqueueOptions, JobCounts, JobPage, ListJobsOptions } from "./job-producer.ts";
import { type JobRecord, type JobStatus, jobOwner } from "./job-record.ts";

export type BullmqJobQueueOptions = {
  redisUrl: string;
  /** The BullMQ queue name; tests use a unique one each. */
  name?: string;
  /** Prefix of every Redis key. */
  prefix?: string;
  attempts: number;
  retentionMs: number;
  /** How long a worker's lock on a job lasts without renewal; a lapsed lock makes the job stalled. */
  leaseMs: number;
  backoffMs: number;
  watchIntervalMs?: number;
};

/** What we store in a BullMQ job's data. */
export type BullmqJobData = { payload: unknown; source: string | null };

/** BullMQ progress is free-form; ours carries when it changed, which BullMQ does not record. */
type StoredProgress = { percent: number; at: number };

/** The failure reason that marks a job failed by cancellation (then removed, see the worker). */
export const CANCELLED_REASON = "bullmq-job-queue:cancelled";
/**
 * BullMQ's own reason for a job whose lock lapsed more than `maxStalledCount` times: the next worker
 * to take it fails it with this, without running its processor.
 */
export const STALLED_REASON = "job stalled more than allowable limit";
/**
 * A failure is stored in BullMQ's `failedReason` as `CODE: message`, so that the code and the
 * message are written by the same command that moves the job and can never disagree.
 */
const CODED_REASON = /^([A-Z][A-Z0-9_]*): ([\s\S]*)$/;

const QUEUED_TYPES: JobType[] = ["waiting", "prioritized", "delayed", "waiting-children"];
const TYPES_BY_STATUS: Record<Exclude<JobStatus, "cancelled">, JobType[]> = {
  queued: QUEUED_TYPES,
  running: ["active"],
  completed: ["completed"],
  failed: ["failed"],
};

/**
 * The Redis queue's storage: BullMQ's queue under `prefix:name`, plus the keys that are ours.
 * BullMQ has no cancelled state, so a cancelled job is kept as a record in a hash
 * (`:cancelled`, ordered by `:cancelled-at`, trimmed after the retention window) and removed
 * from BullMQ; a running job's cancel request waits in the `:cancel-requested` set for its
 * worker. The producer and the worker both go through this module for every key and for the
 * mapping between BullMQ jobs and our records.
 */
export class BullmqJobStore {
  readonly options: Required<BullmqJobQueueOptions>;
  readonly #redis: Redis;
  readonly #queue: Queue<BullmqJobData>;
  readonly #keys: { cancelled: string; cancelledAt: string; cancelRequested: string };
  #closed = false;

  constructor(options: BullmqJobQueueOptions) {
    this.options = { name: "jobs", prefix: "llm-api", watchIntervalMs: 250, ...options };
    // Commands wait through a Redis restart instead of failing after a few retries.
    this.#redis = new Redis(options.redisUrl, { maxRetriesPerRequest: null, lazyConnect: false });
    this.#redis.on("error", () => {
      // ioredis reconnects by itself; without a listener every failed attempt is an unhandled error.
    });
    const retentionSeconds = Math.ceil(options.retentionMs / 1000);
    this.#queue = new Queue<BullmqJobData>(this.options.name, {
      connection: this.#redis,
      prefix: this.options.prefix,
      defaultJobOptions: {
        attempts: options.attempts,
        backoff: { type: "exponential", delay: options.backoffMs },
        removeOnComplete: { age: retentionSeconds },
        removeOnFail: { age: retentionSeconds },
      },
    });
    this.#queue.on("error", () => {});
    const base = `${this.options.prefix}:${this.options.name}`;
    this.#keys = {
      cancelled: `${base}:cancelled`,
      cancelledAt: `${base}:cancelled-at`,
      cancelRequested: `${base}:cancel-requested`,
    };
  }

  async add(options: EnqueueOptions): Promise<JobRecord> {
    const job = await this.#queue.add(
      options.type,
      { payload: options.payload ?? null, source: options.source ?? null },
      { jobId: randomUUID(), attempts: options.maxAttempts ?? this.options.attempts },
    );
    return this.recordOf(job, "queued");
  }

  async read(id: string): Promise<JobRecord | undefined> {
    const cancelled = await this.#redis.hget(this.#keys.cancelled, id);
    if (cancelled) return parseCancelled(cancelled);
    // State first: a job read before its state could be a snapshot taken just before completion.
    const state = await this.#queue.getJobState(id);
    if (state === "unknown") return undefined;
    const job = await this.#queue.getJob(id);
    if (!job) return undefined;
    return this.recordOf(job, statusOf(state, job));
  }

  async page(options: ListJobsOptions): Promise<JobPage> {
    // One owner's jobs are picked out of all of them, so its page and total are exact.
    const byOwner = options.owner !== undefined;
    const window = byOwner ? Number.POSITIVE_INFINITY : options.offset + options.limit;
    const last = byOwner ? -1 : window - 1;
    const wantsCancelled = options.status === undefined || options.status === "cancelled";
    const types =
      options.status === undefined
        ? Object.values(TYPES_BY_STATUS).flat()
        : options.status === "cancelled"
          ? []
          : TYPES_BY_STATUS[options.status];

    const records: JobRecord[] = [];
    let total = 0;
    if (types.length > 0) {
      // BullMQ pages each state separately, so read the first `window` of each and merge by age.
      const jobs = await this.#queue.getJobs(types, 0, last);
      const states = await Promise.all(jobs.map((job) => job.getState()));
      jobs.forEach((job, index) => {
        const state = states[index];
        if (state !== "unknown") records.push(this.recordOf(job, statusOf(state, job)));
      });
      total += await this.#queue.getJobCountByTypes(...types);
    }
    if (wantsCancelled) {
      const ids = await this.#redis.zrevrange(this.#keys.cancelledAt, 0, last);
      const values = ids.length > 0 ? await this.#redis.hmget(this.#keys.cancelled, ...ids) : [];
      for (const value of values) if (value) records.push(parseCancelled(value));
      total += await this.#redis.zcard(this.#keys.cancelledAt);
    }
    const seen = new Set<string>();
    const unique = records.filter((record) => !seen.has(record.id) && seen.add(record.id));
    const ofStatus = options.status ? unique.filter((record) => record.status === options.status) : unique;
    const filtered = byOwner ? ofStatus.filter((record) => jobOwner(record) === options.owner) : ofStatus;
    filtered.sort((left, right) => right.createdAt - left.createdAt);
    if (byOwner)
      return { jobs: filtered.slice(options.offset, options.offset + options.limit), total: filtered.length };
    return { jobs: filtered.slice(options.offset, window), total };
  }

  async counts(): Promise<JobCounts> {
    const counts = await this.#queue.getJobCounts(...Object.values(TYPES_BY_STATUS).flat());
    const sum = (types: JobType[]) => types.reduce((total, type) => total + (counts[type] ?? 0), 0);
    return {
      queued: sum(TYPES_BY_STATUS.queued),
      running: sum(TYPES_BY_STATUS.running),
      completed: sum(TYPES_BY_STATUS.completed),
      failed: sum(TYPES_BY_STATUS.failed),
      cancelled: await this.#redis.zcard(this.#keys.cancelledAt),
    };
  }

  /** Keeps `record` as a cancelled job, whatever BullMQ still holds of it. */
  async writeCancelled(record: JobRecord): Promise<void> {
    await this.#redis
      .multi()
      .hset(this.#keys.cancelled, record.id, JSON.stringify(record))
      .zadd(this.#keys.cancelledAt, record.updatedAt, record.id)
      .exec();
  }

  async unwriteCancelled(id: string): Promise<void> {
    await this.#redis.multi().hdel(this.#keys.cancelled, id).zrem(this.#keys.cancelledAt, id).exec();
  }

  /** Removes a job no worker holds from BullMQ; false when a worker has it locked. */
  async removeUnlocked(id: string): Promise<boolean> {
    try {
      await this.#queue.remove(id);
      return !(await this.#queue.getJob(id));
    } catch {
      return false;
    }
  }

  /** Asks the worker running `id` to stop at its next step. */
  async requestCancel(id: string): Promise<void> {
    await this.#redis.sadd(this.#keys.cancelRequested, id);
  }

  async isCancelRequested(id: string): Promise<boolean> {
    return (await this.#redis.sismember(this.#keys.cancelRequested, id)) === 1;
  }

  /** For each of `ids`, whether its cancel was asked for. */
  async cancelRequestedAmong(ids: readonly string[]): Promise<boolean[]> {
    const flags = await this.#redis.smismember(this.#keys.cancelRequested, ...ids);
    return flags.map((flag) => flag === 1);
  }

  /** Drops what BullMQ still holds of a job that a worker cancelled; its cancelled record stays. */
  async forgetCancelledJob(id: string): Promise<void> {
    await Promise.all([this.#queue.remove(id), this.#redis.srem(this.#keys.cancelRequested, id)]);
  }

  progressOf(job: Job): number {
    return storedProgressOf(job).percent;
  }

  /** Raises a job's progress, never lowering it. */
  async writeProgress(job: Job<BullmqJobData>, percent: number): Promise<void> {
    const next = clampProgress(percent);
    if (next > storedProgressOf(job).percent) await job.updateProgress({ percent: next, at: Date.now() });
  }

  /** The `failedReason` a worker fails a BullMQ job with; `recordOf` reads both parts back. */
  failedReasonFor(failure: JobFailure): string {
    return `${failure.code}: ${failure.message}`;
  }

  recordOf(job: Job<BullmqJobData>, status: JobStatus): JobRecord {
    const progress = storedProgressOf(job);
    const failed = status === "failed" || status === "queued" || status === "running";
    const failure = failed ? failureOf(job.failedReason) : { error: null, errorCode: null };
    return {
      id: job.id!,
      type: job.name,
      status,
      progress: status === "completed" ? 100 : progress.percent,
      source: job.data.source,
      payload: job.data.payload,
      result: status === "completed" ? (job.returnvalue ?? null) : null,
      ...failure,
      attempts: job.attemptsStarted ?? job.attemptsMade,
      maxAttempts: job.opts.attempts ?? this.options.attempts,
      createdAt: job.timestamp,
      updatedAt: Math.max(job.timestamp, job.processedOn ?? 0, job.finishedOn ?? 0, progress.at),
    };
  }

  /** Drops cancelled-job records older than the retention window. */
  async removeExpired(now = Date.now()): Promise<void> {
    const ids = await this.#redis.zrangebyscore(this.#keys.cancelledAt, 0, now - this.options.retentionMs);
    if (ids.length === 0) return;
    await this.#redis
      .multi()
      .hdel(this.#keys.cancelled, ...ids)
      .zrem(this.#keys.cancelledAt, ...ids)
      .exec();
  }

  async ping(): Promise<void> {
    await this.#redis.ping();
  }

  /** Deletes every key of this queue (tests and benchmarks use a queue of their own). */
  async destroy(): Promise<void> {
    await this.#queue.obliterate({ force: true });
    await this.#redis.del(this.#keys.cancelled, this.#keys.cancelledAt, this.#keys.cancelRequested);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue.close();
    this.#redis.disconnect();
  }
}

function storedProgressOf(job: Job): StoredProgress {
  const progress = job.progress as StoredProgress | number | undefined;
  if (typeof progress === "number") return { percent: progress, at: 0 };
  if (progress && typeof progress === "object" && typeof progress.percent === "number") return progress;
  return { percent: 0, at: 0 };
}

function statusOf(state: string, job: Job): JobStatus {
  if (state === "active") return "running";
  if (state === "completed") return "completed";
  if (state === "failed") return job.failedReason === CANCELLED_REASON ? "cancelled" : "failed";
  return "queued";
}

/** A stored `failedReason` as the message and code a client sees. */
function failureOf(reason: string | undefined): Pick<JobRecord, "error" | "errorCode"> {
  if (!reason) return { error: null, errorCode: null };
  const coded = CODED_REASON.exec(reason);
  if (coded && Object.hasOwn(ErrorCodes, coded[1])) {
    return { error: coded[2], errorCode: coded[1] as ErrorCode };
  }
  // A reason BullMQ wrote itself (or one from before failures had codes).
  return { error: reason, errorCode: reason === STALLED_REASON ? "JOB_LEASE_EXPIRED" : "JOB_FAILED" };
}

/** Records written before failures had codes have no `errorCode`. */
function parseCancelled(value: string): JobRecord {
  return { errorCode: null, ...(JSON.parse(value) as Omit<JobRecord, "errorCode">) };
}
