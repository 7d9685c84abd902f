// The real standalone worker (`npm run worker`) whose ingest processor kills its own process
// (SIGKILL) as soon as it runs, as a file that crashes its parser would: the queue's recovery, not
// the processor, ends the job. Every other part is the service's own, its abandoned-job handlers
// included. With REDIS_URL, the BullMQ queue is the test run's own (CRASH_TEST_QUEUE); otherwise
// the SQLite queue in DATA_DIR.
import { setTimeout as sleep } from "node:timers/promises";
import { BullmqJobQueue } from "../../src/jobs/bullmq-job-queue.ts";
import { INGEST_JOB_TYPE } from "../../src/jobs/processors/ingest-document.ts";
import { runWorkerProcess } from "../../src/worker.ts";

const name = process.env.CRASH_TEST_QUEUE;

await runWorkerProcess({
  jobQueue: (config) =>
    config.redisUrl && name
      ? new BullmqJobQueue({
          redisUrl: config.redisUrl,
          name,
          prefix: "llm-api-test",
          attempts: config.jobAttempts,
          retentionMs: config.jobRetentionMs,
          leaseMs: config.jobLeaseMs,
          backoffMs: config.jobBackoffMs,
        })
      : undefined,
  processors: () => ({
    [INGEST_JOB_TYPE]: async () => {
      process.kill(process.pid, "SIGKILL");
      await sleep(60_000);
    },
  }),
});
