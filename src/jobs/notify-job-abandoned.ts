import type { AbandonedJob, JobWorkerOptions } from "./job-worker.ts";

/**
 * Hands a job the queue ended without its processor to its type's handler. A handler that throws
 * is reported and changes nothing: the job's final state is already written.
 */
export async function notifyJobAbandoned(job: AbandonedJob, options: JobWorkerOptions): Promise<void> {
  const handler = options.onAbandoned?.[job.type];
  if (!handler) return;
  try {
    await handler(job);
  } catch (error) {
    options.onError?.(error, job.id);
  }
}
