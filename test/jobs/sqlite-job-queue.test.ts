import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { SqliteJobQueue } from "../../src/jobs/sqlite-job-queue.ts";
import { describeJobQueueConformance } from "./job-queue-conformance.ts";

describeJobQueueConformance("SQLite", async (tuning = {}) => {
  const folder = mkdtempSync(path.join(tmpdir(), "jobs-sqlite-"));
  const queue = new SqliteJobQueue({
    file: path.join(folder, "jobs.sqlite"),
    attempts: tuning.attempts ?? 3,
    leaseMs: tuning.leaseMs ?? 2000,
    backoffMs: tuning.backoffMs ?? 50,
    retentionMs: 3_600_000,
    pollIntervalMs: 50,
  });
  return {
    queue,
    destroy: async () => {
      await queue.close();
      rmSync(folder, { recursive: true, force: true });
    },
  };
});
