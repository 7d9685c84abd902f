import type { Logger } from "pino";
import type { Config } from "../config.ts";
import type { KnowledgeStore } from "../knowledge/knowledge-store.ts";
import type { UploadStore } from "../knowledge/uploads/upload-store.ts";
import { jobAbandonedHandlers, jobProcessors } from "./job-processors.ts";
import type { JobQueue } from "./job-queue.ts";
import type { JobProcessor, JobWorker, JobWorkerOptions } from "./job-worker.ts";

export type StartJobWorkerOptions = {
  config: Config;
  jobQueue: JobQueue;
  knowledgeStore: KnowledgeStore;
  /** Where uploaded files wait for their jobs; without it, jobs of uploads fail. */
  uploads?: UploadStore;
  logger: Logger;
  /** Extra or replacement processors (tests add job types of their own). */
  processors?: Record<string, JobProcessor>;
  onJobFinished?: JobWorkerOptions["onJobFinished"];
};

/** Runs the service's processors on `JOB_CONCURRENCY` slots, logging each job's end. */
export function startJobWorker(options: StartJobWorkerOptions): JobWorker {
  const { config, logger } = options;
  const worker = options.jobQueue.startWorker({
    concurrency: config.jobConcurrency,
    processors: { ...jobProcessors(config, options.knowledgeStore, options.uploads), ...options.processors },
    // Kept when a test replaces a processor: a job its worker died on still releases its upload.
    onAbandoned: jobAbandonedHandlers(options.uploads),
    onJobFinished: (type, state, durationMs) => {
      logger.info(
        durationMs === undefined
          ? { job_type: type, state, ended_by: "recovery" }
          : { job_type: type, state, duration_ms: Math.round(durationMs) },
        "job finished",
      );
      options.onJobFinished?.(type, state, durationMs);
    },
    onError: (error, jobId) => logger.error({ err: error, job_id: jobId }, "job worker error"),
  });
  logger.info({ queue: options.jobQueue.kind, concurrency: config.jobConcurrency }, "job worker started");
  return worker;
}
