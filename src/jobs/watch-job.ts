import type { JobEventListener } from "./job-producer.ts";
import { FinalJobStatuses, type JobRecord } from "./job-record.ts";

/**
 * Follows a job by reading it every `intervalMs` and calls `listener` when its status or
 * progress changed. Polling works across processes (a worker elsewhere updates the job) with no
 * extra channel; `nudge` lets an in-process change be seen at once.
 */
export function watchJob(
  read: (id: string) => Promise<JobRecord | undefined>,
  id: string,
  listener: JobEventListener,
  intervalMs: number,
): { stop: () => void; nudge: () => void } {
  let stopped = false;
  let lastSeen = "";
  let timer: NodeJS.Timeout | undefined;
  let reading = false;

  const check = async (): Promise<void> => {
    if (stopped || reading) return;
    reading = true;
    try {
      const job = await read(id);
      if (stopped || job === undefined) return;
      const fingerprint = `${job.status}:${job.progress}:${job.updatedAt}`;
      if (fingerprint !== lastSeen) {
        lastSeen = fingerprint;
        listener(job);
      }
      if (FinalJobStatuses.has(job.status)) stop();
    } catch {
      // A failed read (a connection blip) is retried on the next tick.
    } finally {
      reading = false;
      if (!stopped) schedule();
    }
  };
  const schedule = (): void => {
    clearTimeout(timer);
    timer = setTimeout(check, intervalMs);
  };
  const stop = (): void => {
    stopped = true;
    clearTimeout(timer);
  };
  void check();
  return { stop, nudge: () => void check() };
}
