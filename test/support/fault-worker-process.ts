// The real standalone worker (`npm run worker`) with two job types for the fault tests:
// `record` sleeps, then writes its result keyed by job id; `crash` kills its own process.
import { setTimeout as sleep } from "node:timers/promises";
import { BullmqJobQueue } from "../../src/jobs/bullmq-job-queue.ts";
import { runWorkerProcess } from "../../src/worker.ts";
import { openFaultResults } from "./fault-results.ts";

const resultsFile = process.env.FAULT_RESULTS_FILE;
const bullmqName = process.env.FAULT_BULLMQ_NAME;
if (!resultsFile) throw new Error("FAULT_RESULTS_FILE is required");
const results = openFaultResults(resultsFile);
const recordExecution = results.prepare("INSERT INTO executions (job_id, pid) VALUES (?, ?) RETURNING rowid");
const markFinished = results.prepare("UPDATE executions SET finished = 1 WHERE rowid = ?");
const writeResult = results.prepare("INSERT OR IGNORE INTO results (job_id, pid) VALUES (?, ?)");

await runWorkerProcess({
  // A BullMQ queue of this run's own name; in SQLite mode the configured queue (DATA_DIR is the run's).
  jobQueue: (config) =>
    config.redisUrl && bullmqName
      ? new BullmqJobQueue({
          redisUrl: config.redisUrl,
          name: bullmqName,
          prefix: "llm-api-test",
          attempts: config.jobAttempts,
          retentionMs: config.jobRetentionMs,
          leaseMs: config.jobLeaseMs,
          backoffMs: config.jobBackoffMs,
        })
      : undefined,
  processors: () => ({
    record: async (job) => {
      const { rowid } = recordExecution.get(job.id, process.pid) as { rowid: number };
      await sleep((job.payload as { ms: number }).ms);
      writeResult.run(job.id, process.pid);
      markFinished.run(rowid);
      return { pid: process.pid };
    },
    crash: async (job) => {
      recordExecution.get(job.id, process.pid);
      process.kill(process.pid, "SIGKILL");
      await sleep(60_000);
    },
  }),
});
