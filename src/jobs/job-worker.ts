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

/**
 * Runs one job. To fail with a message the client may see, throw a JobError (job-error.ts):
 * its code's retry flag decides whether another attempt runs. Anything else is retried and
 * shown only as an internal error.
 */
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

/** The consumer side of a job queue: claims jobs from the store and runs their processors. */
export type JobWorker = {
  /** Stops claiming jobs; running ones get `timeoutMs` to finish, the rest go back to the queue. */
  stop: (options: { timeoutMs: number }) => Promise<void>;
};
