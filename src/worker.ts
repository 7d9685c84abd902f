import { type Config, configuredSecrets, loadConfig } from "./config.ts";
import type { JobProcessor, JobQueue } from "./jobs/job-queue.ts";
import { startJobWorker } from "./jobs/start-job-worker.ts";
import type { KnowledgeStore } from "./knowledge/knowledge-store.ts";
import { createLogger } from "./observability/create-logger.ts";
import { exitAfterFlushingLogs, readEnvironment, startOrExitOnConfigError } from "./process-helpers.ts";
import { createWorkerServices } from "./services.ts";

export type WorkerProcessOptions = {
  /** Extra job types (the fault tests add their own). */
  processors?: (config: Config) => Record<string, JobProcessor>;
  /** A store other than the configured one; undefined leaves the configured one. */
  knowledgeStore?: (config: Config) => KnowledgeStore | undefined;
  /** A queue other than the configured one (tests give each run a queue of its own); undefined leaves the configured one. */
  jobQueue?: (config: Config) => JobQueue | undefined;
};

/**
 * `npm run worker`: a job worker with no HTTP server, for running workers apart from the API
 * (`RUN_WORKER=false` on the API replicas). On SIGTERM/SIGINT running jobs get the shutdown
 * window to finish; what is left goes back to the queue, then the process exits.
 */
export async function runWorkerProcess(options: WorkerProcessOptions = {}): Promise<void> {
  const config = await startOrExitOnConfigError(() => loadConfig(readEnvironment()));
  const logger = createLogger({
    level: config.logLevel,
    secrets: configuredSecrets(config),
    pretty: process.stdout.isTTY === true,
  });
  // Made for this process by the caller's factories, so this process closes them too.
  const given = { jobQueue: options.jobQueue?.(config), knowledgeStore: options.knowledgeStore?.(config) };
  const services = createWorkerServices(config, logger, given);
  const worker = startJobWorker({
    config,
    jobQueue: services.jobQueue,
    knowledgeStore: services.knowledgeStore,
    uploads: services.uploads,
    logger,
    processors: options.processors?.(config),
  });

  let stopping = false;
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      if (stopping) process.exit(1);
      stopping = true;
      logger.info(
        { signal, timeout_ms: config.shutdownTimeoutMs },
        "worker stopping: finishing running jobs",
      );
      worker
        .stop({ timeoutMs: Math.max(0, config.shutdownTimeoutMs - 2000) })
        .then(() => Promise.all([services.close(), given.jobQueue?.close(), given.knowledgeStore?.close()]))
        .then(
          () => {
            logger.info("worker stopped");
            exitAfterFlushingLogs(logger, 0);
          },
          (error: unknown) => {
            logger.error({ err: error }, "worker shutdown failed");
            exitAfterFlushingLogs(logger, 1);
          },
        );
    });
  }
}

if (import.meta.main) {
  await runWorkerProcess();
}
