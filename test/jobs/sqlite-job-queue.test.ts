import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import { JobError } from "../../src/jobs/job-error.ts";
import { SqliteJobQueue } from "../../src/jobs/sqlite-job-queue.ts";
import { describeJobFinishedConformance } from "../support/job-finished-conformance.ts";
import { describeJobQueueConformance, type QueueFactory } from "../support/job-queue-conformance.ts";
import { waitFor } from "../support/wait-for.ts";

const createQueue: QueueFactory = async (tuning = {}) => {
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
};

describeJobQueueConformance("SQLite", createQueue);
describeJobFinishedConformance("SQLite", createQueue);

test("a jobs file from before failures had codes opens, keeps its old errors and records codes from then on", async (t) => {
  const folder = mkdtempSync(path.join(tmpdir(), "jobs-sqlite-legacy-"));
  t.after(() => rmSync(folder, { recursive: true, force: true }));
  const file = path.join(folder, "jobs.sqlite");
  // The table as the previous release created it: no error_code column.
  const legacy = new DatabaseSync(file);
  const now = Date.now();
  legacy.exec(`
    CREATE TABLE jobs (
      id TEXT PRIMARY KEY, type TEXT NOT NULL, status TEXT NOT NULL, source TEXT, payload TEXT NOT NULL,
      progress INTEGER NOT NULL DEFAULT 0, result TEXT, error TEXT, attempts INTEGER NOT NULL DEFAULT 0,
      max_attempts INTEGER NOT NULL, run_at INTEGER NOT NULL, lease_owner TEXT, lease_expires_at INTEGER,
      cancel_requested INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
      finished_at INTEGER
    );
    INSERT INTO jobs (id, type, status, payload, error, attempts, max_attempts, run_at, created_at, updated_at, finished_at)
    VALUES ('old-job', 'echo', 'failed', 'null', 'The source is not allowed.', 1, 3, ${now}, ${now}, ${now}, ${now});
  `);
  legacy.close();

  const queue = new SqliteJobQueue({
    file,
    attempts: 1,
    leaseMs: 2000,
    backoffMs: 50,
    retentionMs: 3_600_000,
  });
  const worker = queue.startWorker({
    concurrency: 1,
    processors: {
      refused: async () => {
        throw new JobError({ code: "SOURCE_REFUSED", message: "Refused again." });
      },
    },
  });
  t.after(async () => {
    await worker.stop({ timeoutMs: 0 });
    await queue.close();
  });
  const old = await queue.get("old-job");
  assert.equal(old?.error, "The source is not allowed.");
  assert.equal(old?.errorCode, null);
  const job = await queue.enqueue({ type: "refused", payload: null });
  const done = await waitFor("the new job to fail", async () => {
    const record = await queue.get(job.id);
    return record?.status === "failed" ? record : undefined;
  });
  assert.equal(done.errorCode, "SOURCE_REFUSED");
  // A second process opening the migrated file finds nothing left to do.
  const again = new SqliteJobQueue({
    file,
    attempts: 1,
    leaseMs: 2000,
    backoffMs: 50,
    retentionMs: 3_600_000,
  });
  assert.equal((await again.get(job.id))?.errorCode, "SOURCE_REFUSED");
  await again.close();
});

test("recovery hands the jobs a dead worker leaves to onAbandoned once it ends them for good, and only those", async (t) => {
  const folder = mkdtempSync(path.join(tmpdir(), "jobs-sqlite-abandoned-"));
  const queue = new SqliteJobQueue({
    file: path.join(folder, "jobs.sqlite"),
    attempts: 2,
    leaseMs: 500,
    backoffMs: 60_000,
    retentionMs: 3_600_000,
    pollIntervalMs: 50,
  });
  t.after(async () => {
    await queue.close();
    rmSync(folder, { recursive: true, force: true });
  });
  const spent = await queue.enqueue({ type: "held", payload: { name: "spent" }, maxAttempts: 1 });
  const cancelled = await queue.enqueue({ type: "held", payload: { name: "cancelled" } });
  const retried = await queue.enqueue({ type: "held", payload: { name: "retried" } });
  // A worker that claims all three and dies: nothing of it renews their leases.
  assert.equal(queue.store.claim("dead-worker", 3).length, 3);
  assert.equal((await queue.cancel(cancelled.id))?.status, "running");

  const heard: { id: string; state: string; payload: unknown }[] = [];
  const reported: [string, string, number | undefined][] = [];
  const worker = queue.startWorker({
    concurrency: 1,
    processors: {},
    onJobFinished: (type, state, durationMs) => reported.push([type, state, durationMs]),
    onAbandoned: {
      held: (job) => {
        heard.push({ id: job.id, state: job.state, payload: job.payload });
      },
    },
  });
  t.after(() => worker.stop({ timeoutMs: 0 }));
  await waitFor("the retried job to go back to the queue", async () => {
    return (await queue.get(retried.id))?.status === "queued";
  });
  assert.equal((await queue.get(spent.id))?.status, "failed");
  assert.equal((await queue.get(cancelled.id))?.status, "cancelled");
  assert.deepEqual(
    heard.sort((left, right) => left.state.localeCompare(right.state)),
    [
      { id: cancelled.id, state: "cancelled", payload: { name: "cancelled" } },
      { id: spent.id, state: "failed", payload: { name: "spent" } },
    ],
    "the job that runs again is not handed over",
  );
  // Counted like a run's end (llm_api_jobs_total), with no duration: no run was alive to time it.
  assert.deepEqual(reported.sort(), [
    ["held", "cancelled", undefined],
    ["held", "failed", undefined],
  ]);
});
