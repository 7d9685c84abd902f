import type { JobProducer } from "./job-producer.ts";
import type { JobWorker, JobWorkerOptions } from "./job-worker.ts";

// Callers that start workers through the queue name these types along with it.
export type { JobProcessor, JobWorker, JobWorkerOptions } from "./job-worker.ts";

/**
 * One backend, as the process wires it: the producer, plus workers started on the same store.
 * SQLite and BullMQ implement it and pass the same conformance suite
 * (test/support/job-queue-conformance.ts). Within each backend the producer and the worker are
 * separate modules that share only the backend's store module.
 */
export type JobQueue = JobProducer & {
  startWorker(options: JobWorkerOptions): JobWorker;
};
