import { randomUUID } from "node:crypto";
import { before } from "node:test";
import { BullmqJobQueue } from "../../src/jobs/bullmq-job-queue.ts";
import { describeJobFinishedConformance } from "../support/job-finished-conformance.ts";
import { describeJobQueueConformance, type QueueFactory } from "../support/job-queue-conformance.ts";
import { requireRedis, TEST_REDIS_URL } from "../support/require-redis.ts";

before(() => requireRedis());

const createQueue: QueueFactory = async (tuning = {}) => {
  const queue = new BullmqJobQueue({
    redisUrl: TEST_REDIS_URL,
    // A queue of its own per test, deleted afterwards.
    name: `test-${randomUUID()}`,
    prefix: "llm-api-test",
    attempts: tuning.attempts ?? 3,
    leaseMs: tuning.leaseMs ?? 2000,
    backoffMs: tuning.backoffMs ?? 50,
    retentionMs: 3_600_000,
  });
  return {
    queue,
    destroy: async () => {
      await queue.destroy();
      await queue.close();
    },
  };
};

describeJobQueueConformance("BullMQ on Redis", createQueue);
describeJobFinishedConformance("BullMQ on Redis", createQueue);
