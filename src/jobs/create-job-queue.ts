import path from "node:path";
import type { Config } from "../config.ts";
import { BullmqJobQueue } from "./bullmq-job-queue.ts";
import type { JobQueue } from "./job-queue.ts";
import { SqliteJobQueue } from "./sqlite-job-queue.ts";

/** BullMQ on Redis when REDIS_URL is set, otherwise the embedded SQLite queue in DATA_DIR. */
export function createJobQueue(config: Config): JobQueue {
  const common = {
    attempts: config.jobAttempts,
    retentionMs: config.jobRetentionMs,
    leaseMs: config.jobLeaseMs,
    backoffMs: config.jobBackoffMs,
  };
  if (config.redisUrl) return new BullmqJobQueue({ redisUrl: config.redisUrl, ...common });
  return new SqliteJobQueue({ file: path.join(config.dataDir, "jobs.sqlite"), ...common });
}
