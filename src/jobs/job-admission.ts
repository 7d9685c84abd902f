import { ServiceError } from "../errors/service-error.ts";
import type { EnqueueOptions, JobProducer } from "./job-producer.ts";
import type { JobRecord } from "./job-record.ts";

export type JobAdmissionOptions = {
  jobQueue: JobProducer;
  /** `JOBS_MAX_QUEUED`: queued jobs past which new ones are refused with 429 QUEUE_FULL. */
  maxQueued: number;
  /** Throws when there is no room to write (the disk floor); nothing is enqueued then. */
  checkStorage?: () => Promise<void>;
  /** Sent as `Retry-After` with QUEUE_FULL. */
  retryAfterSeconds?: number;
};

/**
 * Enqueues a job only within the quotas: room on disk, and fewer than `maxQueued` jobs queued.
 * Admissions run one at a time, so two requests cannot both see the last free place; across
 * replicas (BullMQ) each admits on what the shared queue says, so the cap may be passed by at
 * most one job per replica at once.
 */
export class JobAdmission {
  readonly maxQueued: number;
  readonly #options: JobAdmissionOptions;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(options: JobAdmissionOptions) {
    this.#options = options;
    this.maxQueued = options.maxQueued;
  }

  enqueue(options: EnqueueOptions): Promise<JobRecord> {
    const admitted = this.#tail.then(() => this.#admit(options));
    this.#tail = admitted.catch(() => {});
    return admitted;
  }

  async #admit(options: EnqueueOptions): Promise<JobRecord> {
    const { jobQueue, maxQueued, checkStorage } = this.#options;
    await checkStorage?.();
    const counts = await jobQueue.counts();
    if (counts.queued >= maxQueued) {
      throw new ServiceError({
        code: "QUEUE_FULL",
        message: `The job queue holds its limit of ${maxQueued} queued jobs; retry later.`,
        retryAfterSeconds: this.#options.retryAfterSeconds ?? 5,
      });
    }
    return jobQueue.enqueue(options);
  }
}
