import type { BullmqJobStore } from "./bullmq-job-store.ts";
import type {
  EnqueueOptions,
  JobCounts,
  JobEventListener,
  JobPage,
  JobProducer,
  ListJobsOptions,
} from "./job-producer.ts";
import type { JobRecord } from "./job-record.ts";
import { watchJob } from "./watch-job.ts";

/** The Redis queue's producer: adds, reads, cancels and follows jobs in a BullmqJobStore. */
export class BullmqJobProducer implements JobProducer {
  readonly kind = "bullmq" as const;
  readonly store: BullmqJobStore;

  constructor(store: BullmqJobStore) {
    this.store = store;
  }

  enqueue(options: EnqueueOptions): Promise<JobRecord> {
    return this.store.add(options);
  }

  get(id: string): Promise<JobRecord | undefined> {
    return this.store.read(id);
  }

  list(options: ListJobsOptions): Promise<JobPage> {
    return this.store.page(options);
  }

  async cancel(id: string): Promise<JobRecord | undefined> {
    const record = await this.store.read(id);
    if (record?.status !== "queued") {
      if (record?.status === "running") await this.store.requestCancel(id);
      return record;
    }
    const cancelled: JobRecord = { ...record, status: "cancelled", updatedAt: Date.now() };
    // The record is written first so the job is never missing; if a worker took the job in the
    // meantime (BullMQ refuses to remove a locked job), it is cancelled as a running one instead.
    await this.store.writeCancelled(cancelled);
    if (await this.store.removeUnlocked(id)) return cancelled;
    await this.store.unwriteCancelled(id);
    await this.store.requestCancel(id);
    return this.store.read(id);
  }

  subscribe(id: string, listener: JobEventListener): () => void {
    const watcher = watchJob((jobId) => this.get(jobId), id, listener, this.store.options.watchIntervalMs);
    return () => watcher.stop();
  }

  counts(): Promise<JobCounts> {
    return this.store.counts();
  }

  ping(): Promise<void> {
    return this.store.ping();
  }

  /** Deletes every key of this queue (tests and benchmarks use a queue of their own). */
  destroy(): Promise<void> {
    return this.store.destroy();
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
