import { JobError } from "./job-error.ts";
import type { JobProcessor, JobWorkerOptions } from "./job-worker.ts";

/** The processor of a job's type; a job of a type nobody registered fails without retry. */
export function processorFor(processors: JobWorkerOptions["processors"], type: string): JobProcessor {
  const processor = processors[type];
  if (!processor)
    throw new JobError({ code: "UNKNOWN_JOB_TYPE", message: `No processor for jobs of type "${type}".` });
  return processor;
}
