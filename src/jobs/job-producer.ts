import type { JobRecord, JobStatus } from "./job-record.ts";

export type EnqueueOptions = {
  type: string;
  payload: unknown;
  source?: string;
  /** Defaults to the queue's `attempts`. */
  maxAttempts?: number;
};

export type ListJobsOptions = {
  status?: JobStatus;
  limit: number;
  offset: number;
  /** Only the jobs of this owner (`null`: the jobs of no one); every job when undefined. */
  owner?: string | null;
};
export type JobPage = { jobs: JobRecord[]; total: number };

export type JobCounts = Record<JobStatus, number>;

export type JobEventListener = (job: JobRecord) => void;

/**
 * The producer side of a job queue, what routes use: add jobs, read them, cancel them and follow
 * them. It runs nothing; workers (job-worker.ts) do, against the same store.
 */
export type JobProducer = {
  readonly kind: "sqlite" | "bullmq";
  enqueue(options: EnqueueOptions): Promise<JobRecord>;
  get(id: string): Promise<JobRecord | undefined>;
  list(options: ListJobsOptions): Promise<JobPage>;
  /** A queued job is cancelled at once; a running one is asked to stop at its next step. */
  cancel(id: string): Promise<JobRecord | undefined>;
  /** Calls `listener` each time the job changes, until it reaches a final state; returns an unsubscribe. */
  subscribe(id: string, listener: JobEventListener): () => void;
  /** Queue depth by state, for readiness and metrics. */
  counts(): Promise<JobCounts>;
  /** Throws when the backing store cannot be reached (a readiness check). */
  ping(): Promise<void>;
  close(): Promise<void>;
};
