// Fault tests: real worker processes (test/support/fault-worker-process.ts) killed mid-run.
// Each test states its figures with t.diagnostic; the closing note of issue 5 quotes them.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { before, describe, test } from "node:test";
import { BullmqJobQueue } from "../../src/jobs/bullmq-job-queue.ts";
import type { JobQueue } from "../../src/jobs/job-queue.ts";
import { SqliteJobQueue } from "../../src/jobs/sqlite-job-queue.ts";
import { faultFigures, openFaultResults } from "../support/fault-results.ts";
import { requireRedis, TEST_REDIS_URL } from "../support/require-redis.ts";
import { waitFor } from "../support/wait-for.ts";

const LEASE_MS = 1000;
const ATTEMPTS = 3;

type Mode = "sqlite" | "bullmq";
type Context = { after: (callback: () => unknown) => void; diagnostic: (message: string) => void };

/** A queue, a results file and a way to start worker processes on them. */
function setUp(mode: Mode, t: Context, redisUrl = TEST_REDIS_URL) {
  const folder = mkdtempSync(path.join(tmpdir(), `faults-${mode}-`));
  const bullmqName = `faults-${randomUUID()}`;
  const common = { attempts: ATTEMPTS, retentionMs: 3_600_000, leaseMs: LEASE_MS, backoffMs: 100 };
  const queue: JobQueue =
    mode === "sqlite"
      ? new SqliteJobQueue({ file: path.join(folder, "jobs.sqlite"), ...common })
      : new BullmqJobQueue({ redisUrl, name: bullmqName, prefix: "llm-api-test", ...common });
  const resultsFile = path.join(folder, "results.sqlite");
  const results = openFaultResults(resultsFile);
  const children = new Set<ChildProcess>();

  const startWorker = (concurrency = 4): ChildProcess => {
    const child = spawn(process.execPath, ["--no-warnings", "test/support/fault-worker-process.ts"], {
      env: {
        PATH: process.env.PATH,
        LOG_LEVEL: "warn",
        DATA_DIR: folder,
        JOB_CONCURRENCY: String(concurrency),
        JOB_ATTEMPTS: String(ATTEMPTS),
        JOB_LEASE_MS: String(LEASE_MS),
        JOB_BACKOFF_MS: "100",
        SHUTDOWN_TIMEOUT_MS: "15000",
        FAULT_RESULTS_FILE: resultsFile,
        ...(mode === "bullmq" ? { REDIS_URL: redisUrl, FAULT_BULLMQ_NAME: bullmqName } : {}),
      },
      stdio: ["ignore", "inherit", "inherit"],
    });
    children.add(child);
    child.once("exit", () => children.delete(child));
    return child;
  };

  t.after(async () => {
    for (const child of children) child.kill("SIGKILL");
    if (queue instanceof BullmqJobQueue) await queue.destroy().catch(() => {});
    await queue.close();
    results.close();
  });

  const enqueueRecords = async (count: number, ms: number): Promise<string[]> => {
    const ids: string[] = [];
    for (let index = 0; index < count; index += 1) {
      ids.push((await queue.enqueue({ type: "record", payload: { ms } })).id);
    }
    return ids;
  };
  const figures = () => faultFigures(results);
  return { queue, startWorker, enqueueRecords, figures };
}

async function allFinal(queue: JobQueue, total: number, timeoutMs = 60_000) {
  return waitFor(
    `${total} jobs to reach a final state`,
    async () => {
      const counts = await queue.counts();
      return counts.completed + counts.failed + counts.cancelled === total ? counts : undefined;
    },
    { timeoutMs, intervalMs: 100 },
  );
}

for (const mode of ["sqlite", "bullmq"] as const) {
  describe(`worker faults (${mode})`, () => {
    if (mode === "bullmq") before(() => requireRedis());

    test("kill -9 of a worker process during 200 jobs: 200 completed, 0 lost, one result per job", async (t) => {
      const { queue, startWorker, enqueueRecords, figures } = setUp(mode, t);
      await enqueueRecords(200, 15);
      const first = startWorker();
      await waitFor("40 results", () => figures().results >= 40, { timeoutMs: 30_000 });
      first.kill("SIGKILL");
      await once(first, "exit");
      const killedAt = figures();
      startWorker();
      const counts = await allFinal(queue, 200);
      const final = figures();
      t.diagnostic(
        `${mode} kill -9: killed after ${killedAt.results} results; completed ${counts.completed}, failed ${counts.failed}, ` +
          `lost ${200 - counts.completed - counts.failed}, results ${final.results}, runs ${final.executions} ` +
          `(${final.jobsRunTwice} jobs re-run after the kill)`,
      );
      assert.equal(counts.completed, 200);
      assert.equal(counts.failed, 0);
      assert.equal(final.results, 200, "one result per job");
    });

    test("SIGTERM of a worker: running jobs finish, 0 jobs run twice", async (t) => {
      const { queue, startWorker, enqueueRecords, figures } = setUp(mode, t);
      await enqueueRecords(200, 20);
      const first = startWorker();
      await waitFor("50 results", () => figures().results >= 50, { timeoutMs: 30_000 });
      first.kill("SIGTERM");
      const [code] = await once(first, "exit");
      const stoppedAt = figures();
      assert.equal(code, 0);
      assert.equal(stoppedAt.executions, stoppedAt.finishedRuns, "every started run finished before exit");
      startWorker();
      const counts = await allFinal(queue, 200);
      const final = figures();
      t.diagnostic(
        `${mode} SIGTERM: stopped after ${stoppedAt.results} results; completed ${counts.completed}, ` +
          `runs ${final.executions}, jobs run twice ${final.jobsRunTwice}`,
      );
      assert.equal(counts.completed, 200);
      assert.equal(final.executions, 200);
      assert.equal(final.jobsRunTwice, 0);
    });

    test("a job that always crashes its worker fails after its attempts; the others complete", async (t) => {
      const { queue, startWorker, enqueueRecords, figures } = setUp(mode, t);
      const crash = await queue.enqueue({ type: "crash", payload: null });
      await enqueueRecords(30, 10);
      // A supervisor, as in production: a dead worker is replaced. One slot each, so the crash
      // takes no other job down with it.
      let restarts = 0;
      let done = false;
      const supervise = (): void => {
        if (done) return;
        const child = startWorker(1);
        child.once("exit", () => {
          if (done) return;
          restarts += 1;
          supervise();
        });
      };
      supervise();
      const counts = await allFinal(queue, 31);
      done = true;
      const crashed = await queue.get(crash.id);
      const final = figures();
      const crashRuns = final.executions - final.finishedRuns;
      t.diagnostic(
        `${mode} crashing job: ${crashed?.status} after ${crashRuns} runs (${restarts} worker restarts); ` +
          `others completed ${counts.completed} of 30, failed ${counts.failed - 1}`,
      );
      assert.equal(crashed?.status, "failed");
      assert.equal(crashed?.errorCode, "JOB_LEASE_EXPIRED");
      assert.equal(crashRuns, ATTEMPTS);
      assert.equal(counts.completed, 30);
      assert.equal(counts.failed, 1);
      assert.equal(final.results, 30);
    });
  });
}
