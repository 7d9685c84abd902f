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
  /**
   * Runs `listener` once the worker knows how this run ended, with the state it recorded. Only the
   * worker knows it: a processor sees the same JobCancelledError whether the job was cancelled or
   * is being given back at shutdown, and cannot tell a last attempt from one the queue retries.
   * A listener's failure goes to `onError`; it never changes the job's outcome.
   */
  onFinished: (listener: JobFinishedListener) => void;
};

export type JobFinishedListener = (state: JobFinishedState) => void | Promise<void>;

/**
 * Runs one job. To fail with a message the client may see, throw a JobError (job-error.ts):
 * its code's retry flag decides whether another attempt runs. Anything else is retried and
 * shown only as an internal error.
 */
export type JobProcessor = (job: RunningJob) => Promise<unknown>;

/**
 * How one run ended: the job is done for good (completed, failed, cancelled), or it runs again
 * (retrying after a failed attempt; returned to the queue at shutdown, after a lost lease, or
 * when its outcome could not be recorded).
 */
export type JobFinishedState = "completed" | "failed" | "cancelled" | "retrying" | "returned";

/** Whether the job will never run again after a run that ended so. */
export function isFinalJobState(state: JobFinishedState): boolean {
  return state === "completed" || state === "failed" || state === "cancelled";
}

/**
 * A job the queue's own recovery ended for good, with no run of its processor alive to hear it:
 * its worker died on the job's last attempt (failed, `JOB_LEASE_EXPIRED`), or died after a cancel
 * was asked for (cancelled).
 */
export type AbandonedJob = { id: string; type: string; payload: unknown; state: "failed" | "cancelled" };

/**
 * Releases what a job of its type held (an upload's bytes), as its processor's `onFinished`
 * listener would have had the run lived. It runs in whichever worker recovered the job, once the
 * final state is written.
 */
export type AbandonedJobHandler = (job: AbandonedJob) => void | Promise<void>;

export type JobWorkerOptions = {
  /** Processors by job type; a job of another type fails without retry. */
  processors: Readonly<Record<string, JobProcessor>>;
  /** By job type: what to release when the queue ends a job of that type without its processor. */
  onAbandoned?: Readonly<Record<string, AbandonedJobHandler>>;
  concurrency: number;
  /**
   * Called after every run: how it ended and how long it ran (for metrics). Also called, with no
   * duration, for a job the queue's recovery ended for good (its worker died), by the worker that
   * recovered it: no run of it was alive to time it.
   */
  onJobFinished?: (type: string, state: JobFinishedState, durationMs: number | undefined) => void;
  /** Told about failures that the queue handles itself (a processor error, a lost connection). */
  onError?: (error: unknown, jobId?: string) => void;
};

/** The consumer side of a job queue: claims jobs from the store and runs their processors. */
export type JobWorker = {
  /** Stops claiming jobs; running ones get `timeoutMs` to finish, the rest go back to the queue. */
  stop: (options: { timeoutMs: number }) => Promise<void>;
};
