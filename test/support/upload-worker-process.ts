// The real standalone worker (`npm run worker`), configured by DATABASE_URL and REDIS_URL alone;
// only its BullMQ queue's name is the test run's own (UPLOAD_TEST_QUEUE), so runs never share jobs.
import { BullmqJobQueue } from "../../src/jobs/bullmq-job-queue.ts";
import { runWorkerProcess } from "../../src/worker.ts";

const name = process.env.UPLOAD_TEST_QUEUE;
if (!name) throw new Error("UPLOAD_TEST_QUEUE is required");

await runWorkerProcess({
  jobQueue: (config) =>
    new BullmqJobQueue({
      redisUrl: config.redisUrl as string,
      name,
      prefix: "llm-api-test",
      attempts: config.jobAttempts,
      retentionMs: config.jobRetentionMs,
      leaseMs: config.jobLeaseMs,
      backoffMs: config.jobBackoffMs,
    }),
});
