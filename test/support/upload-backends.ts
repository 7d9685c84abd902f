import { BullmqJobQueue } from "../../src/jobs/bullmq-job-queue.ts";
import { privateDatabaseUrl } from "./require-postgres.ts";
import { TEST_REDIS_URL } from "./require-redis.ts";

/** Where jobs wait and where uploaded bytes wait for them: every pairing the service supports. */
export type UploadBackend = { queue: "sqlite" | "bullmq"; uploads: "files" | "postgres" };

export const UPLOAD_BACKENDS: readonly UploadBackend[] = [
  { queue: "sqlite", uploads: "files" },
  { queue: "sqlite", uploads: "postgres" },
  { queue: "bullmq", uploads: "files" },
  { queue: "bullmq", uploads: "postgres" },
];

/**
 * For a PostgreSQL upload store, a schema of the test's own and the `DATABASE_URL` that points into
 * it (dropped with `dropped()`); nothing for the files store.
 */
export async function uploadDatabase(
  backend: UploadBackend,
): Promise<{ environment: Record<string, string>; dropped: () => Promise<void> }> {
  if (backend.uploads !== "postgres") return { environment: {}, dropped: async () => {} };
  const database = await privateDatabaseUrl();
  return { environment: { DATABASE_URL: database.url }, dropped: database.drop };
}

/** For the BullMQ backend, a queue of the test's own, named uniquely by the caller (its Redis keys removed by `removeJobQueue`). */
export function uploadJobQueue(
  backend: UploadBackend,
  options: { name: string; attempts: number; leaseMs: number; backoffMs: number },
): BullmqJobQueue | undefined {
  if (backend.queue !== "bullmq") return undefined;
  return new BullmqJobQueue({
    redisUrl: TEST_REDIS_URL,
    name: options.name,
    prefix: "llm-api-test",
    attempts: options.attempts,
    retentionMs: 3_600_000,
    leaseMs: options.leaseMs,
    backoffMs: options.backoffMs,
  });
}

export async function removeJobQueue(jobQueue: BullmqJobQueue | undefined): Promise<void> {
  if (jobQueue === undefined) return;
  await jobQueue.destroy();
  await jobQueue.close();
}
