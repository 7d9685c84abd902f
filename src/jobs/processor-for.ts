import type { JobProcessor, JobWorkerOptions } from "./job-worker.ts";
import { PermanentJobError } from "./permanent-job-error.ts";

/** The processor of a job's type; a job of a type nobody registered fails without retry. */
export function processorFor(processors: JobWorkerOptions["processors"], type: string): JobProcessor {
  const processor = processors[type];
  if (!processor) throw new PermanentJobError(`No processor for jobs of type "${type}".`);
  return processor;
}
