import type { JobQueue } from "./job-queue.ts";
import type { JobWorker, JobWorkerOptions } from "./job-worker.ts";
import { SqliteJobProducer } from "./sqlite-job-producer.ts";
import { type SqliteJobQueueOptions, SqliteJobStore } from "./sqlite-job-store.ts";
import { SqliteJobWorker } from "./sqlite-job-worker.ts";

export type { SqliteJobQueueOptions } from "./sqlite-job-store.ts";

/**
 * The embedded queue in one WAL SQLite file: the producer, with workers started on the same
 * store, so in-process workers wake on an enqueue and subscribers see a change at once. Other
 * processes open the same file and share its jobs.
 */
export class SqliteJobQueue extends SqliteJobProducer implements JobQueue {
  constructor(options: SqliteJobQueueOptions) {
    super(new SqliteJobStore(options));
  }

  startWorker(options: JobWorkerOptions): JobWorker {
    return new SqliteJobWorker(this.store, options);
  }
}
