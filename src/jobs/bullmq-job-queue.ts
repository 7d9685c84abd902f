import { BullmqJobProducer } from "./bullmq-job-producer.ts";
import { type BullmqJobQueueOptions, BullmqJobStore } from "./bullmq-job-store.ts";
import { BullmqJobWorker } from "./bullmq-job-worker.ts";
import type { JobQueue } from "./job-queue.ts";
import type { JobWorker, JobWorkerOptions } from "./job-worker.ts";

export type { BullmqJobQueueOptions } from "./bullmq-job-store.ts";

/**
 * BullMQ on Redis: the producer, with workers started on the same store. BullMQ brings the
 * lock/stall recovery, attempts with exponential backoff and retention; cancellation is ours
 * (see BullmqJobStore). Each worker opens its own Redis connection, as BullMQ's Worker does.
 */
export class BullmqJobQueue extends BullmqJobProducer implements JobQueue {
  constructor(options: BullmqJobQueueOptions) {
    super(new BullmqJobStore(options));
  }

  startWorker(options: JobWorkerOptions): JobWorker {
    return new BullmqJobWorker(this.store, options);
  }
}
