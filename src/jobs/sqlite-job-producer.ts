import type {
  EnqueueOptions,
  JobCounts,
  JobEventListener,
  JobPage,
  JobProducer,
  ListJobsOptions,
} from "./job-producer.ts";
import type { JobRecord } from "./job-record.ts";
import type { SqliteJobStore } from "./sqlite-job-store.ts";
import { watchJob } from "./watch-job.ts";

/** The embedded queue's producer: adds, reads, cancels and follows jobs in a SqliteJobStore. */
export class SqliteJobProducer implements JobProducer {
  readonly kind = "sqlite" as const;
  readonly store: SqliteJobStore;

  constructor(store: SqliteJobStore) {
    this.store = store;
  }

  async enqueue(options: EnqueueOptions): Promise<JobRecord> {
    return this.store.insert(options);
  }

  async get(id: string): Promise<JobRecord | undefined> {
    return this.store.read(id);
  }

  async list(options: ListJobsOptions): Promise<JobPage> {
    return this.store.page(options);
  }

  async cancel(id: string): Promise<JobRecord | undefined> {
    this.store.cancel(id);
    return this.store.read(id);
  }

  subscribe(id: string, listener: JobEventListener): () => void {
    const { events, options } = this.store;
    const watcher = watchJob((jobId) => this.get(jobId), id, listener, options.watchIntervalMs);
    const nudge = (changedId: string) => {
      if (changedId === id) watcher.nudge();
    };
    events.on("changed", nudge);
    return () => {
      watcher.stop();
      events.off("changed", nudge);
    };
  }

  async counts(): Promise<JobCounts> {
    return this.store.counts();
  }

  async ping(): Promise<void> {
    this.store.ping();
  }

  async close(): Promise<void> {
    this.store.close();
  }
}
