import type { AbandonedJob, JobWorkerOptions } from "./job-worker.ts";

/**
 * Reports a job the queue ended without its processor, as a run's end is reported (with no
 * duration), and hands it to its type's handler. A handler that throws is reported and changes
 * nothing: the job's final state is already written.
 */
export async function notifyJobAbandoned(job: AbandonedJob, options: JobWorkerOptions): Promise<void> {
  options.onJobFinished?.(job.type, job.state, undefined);
  const handler = options.onAbandoned?.[job.type];
  if (!handler) return;
  try {
    await handler(job);
  } catch (error) {
    options.onError?.(error, job.id);
  }
}
