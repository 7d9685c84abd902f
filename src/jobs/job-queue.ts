/** What a client sees of a job; the same five states whichever queue runs it. */
export const JobStatus = {
  Queued: "queued",
  Running: "running",
  Completed: "completed",
  Failed: "failed",
  Cancelled: "cancelled",
} as const;
export type JobStatus = (typeof JobStatus)[keyof typeof JobStatus];
export const JobStatuses = Object.values(JobStatus);
export const FinalJobStatuses: ReadonlySet<JobStatus> = new Set([
  JobStatus.Completed,
  JobStatus.Failed,
  JobStatus.Cancelled,
]);

export type JobRecord = {
  id: string;
  type: string;
  status: JobStatus;
  /** 0–100; never goes backwards, not even across attempts. */
  progress: number;
  /** What the job works on (for ingestion: the URL, path or name), shown on `/status`. */
  source: string | null;
  payload: unknown;
  result: unknown;
  error: string | null;
  /** Attempts started so far. */
  attempts: number;
  maxAttempts: number;
  createdAt: number;
  updatedAt: number;
};

export type EnqueueOptions = {
  type: string;
  payload: unknown;
  source?: string;
  /** Defaults to the queue's `attempts`. */
  maxAttempts?: number;
};

export type ListJobsOptions = { status?: JobStatus; limit: number; offset: number };
export type JobPage = { jobs: JobRecord[]; total: number };

export type JobCounts = Record<JobStatus, number>;

/** A job as its processor sees it while it runs. */
export type RunningJob = {
  id: string;
  type: string;
  payload: unknown;
  source: string | null;
  /** 1 for the first attempt. */
  attempt: number;
  /** Aborts when the job is cancelled or the worker must give the job back (shutdown). */
  signal: AbortSignal;
  /** Records progress (clamped to 0–100, never lower than before) and throws once cancelled. */
  reportProgress: (percent: number) => Promise<void>;
};

export type JobProcessor = (job: RunningJob) => Promise<unknown>;

export type JobFinishedState = "completed" | "failed" | "cancelled" | "retrying" | "returned";

export type JobWorkerOptions = {
  /** Processors by job type; a job of another type fails without retry. */
  processors: Readonly<Record<string, JobProcessor>>;
  concurrency: number;
  /** Called after every run: how it ended and how long it ran (for metrics). */
  onJobFinished?: (type: string, state: JobFinishedState, durationMs: number) => void;
  /** Told about failures that the queue handles itself (a processor error, a lost connection). */
  onError?: (error: unknown, jobId?: string) => void;
};

export type JobWorker = {
  /** Stops claiming jobs; running ones get `timeoutMs` to finish, the rest go back to the queue. */
  stop: (options: { timeoutMs: number }) => Promise<void>;
};

export type JobEventListener = (job: JobRecord) => void;

/**
 * The one contract routes and workers use; SQLite and BullMQ implement it and pass the same
 * conformance suite (test/jobs/job-queue-conformance.ts).
 */
export type JobQueue = {
  readonly kind: "sqlite" | "bullmq";
  enqueue(options: EnqueueOptions): Promise<JobRecord>;
  get(id: string): Promise<JobRecord | undefined>;
  list(options: ListJobsOptions): Promise<JobPage>;
  /** A queued job is cancelled at once; a running one is asked to stop at its next step. */
  cancel(id: string): Promise<JobRecord | undefined>;
  reportProgress(id: string, percent: number): Promise<void>;
  /** Calls `listener` each time the job changes, until it reaches a final state; returns an unsubscribe. */
  subscribe(id: string, listener: JobEventListener): () => void;
  /** Queue depth by state, for readiness and metrics. */
  counts(): Promise<JobCounts>;
  startWorker(options: JobWorkerOptions): JobWorker;
  /** Throws when the backing store cannot be reached (a readiness check). */
  ping(): Promise<void>;
  close(): Promise<void>;
};

/** Thrown by `reportProgress` (and seen through `signal`) once a job is cancelled. */
export class JobCancelledError extends Error {
  constructor() {
    super("The job was cancelled.");
    this.name = "JobCancelledError";
  }
}

/** A failure that retrying cannot fix (a refused source, an unknown job type). */
export class PermanentJobError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PermanentJobError";
  }
}

/** A failure worth retrying (a timeout, an upstream 503) whose message is fit for the client. */
export class TransientJobError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TransientJobError";
  }
}

export function clampProgress(percent: number): number {
  if (!Number.isFinite(percent)) return 0;
  return Math.min(100, Math.max(0, Math.round(percent)));
}

/** Exponential backoff: base, 2×base, 4×base… capped at ten minutes. */
export function backoffDelayMs(baseMs: number, attempt: number): number {
  return Math.min(600_000, baseMs * 2 ** Math.max(0, attempt - 1));
}
