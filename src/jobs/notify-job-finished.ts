import type { JobFinishedListener, JobFinishedState, JobWorkerOptions } from "./job-worker.ts";

/**
 * Tells a run's `onFinished` listeners the state the worker recorded, one after another. A listener
 * that throws is reported and the others still run: the outcome is already written.
 */
export async function notifyJobFinished(
  listeners: readonly JobFinishedListener[],
  state: JobFinishedState,
  jobId: string,
  onError: JobWorkerOptions["onError"],
): Promise<void> {
  for (const listener of listeners) {
    try {
      await listener(state);
    } catch (error) {
      onError?.(error, jobId);
    }
  }
}
