import type { ErrorCode } from "../errors/error-codes.ts";

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

/** A job as both backends store it and both sides (producer and worker) read it. */
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
  /** Why it failed, or why the last attempt failed while it waits for another. */
  error: string | null;
  /** The stable code of `error`, from the error catalogue; null when there is no error. */
  errorCode: ErrorCode | null;
  /** Attempts started so far. */
  attempts: number;
  maxAttempts: number;
  createdAt: number;
  updatedAt: number;
};

/** Who the job belongs to (a virtual key's id, kept in its payload), or null for no one. */
export function jobOwner(job: Pick<JobRecord, "payload">): string | null {
  const owner = (job.payload as { owner?: unknown } | null)?.owner;
  return typeof owner === "string" ? owner : null;
}
