// A Redis of our own (append-only, fsync on every write) is stopped and started again while a
// real worker process runs 200 jobs: BullMQ must lose none and write no result twice.
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { BullmqJobQueue } from "../../src/jobs/bullmq-job-queue.ts";
import { faultFigures, openFaultResults } from "../support/fault-results.ts";
import { requireRedis } from "../support/require-redis.ts";
import { waitFor } from "../support/wait-for.ts";

/** How long Redis stays down mid-run. */
const OUTAGE_MS = 1500;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function startRedis(port: number, folder: string): ChildProcess {
  // This test restarts a Redis of its own, never the shared one, so it needs the server binary.
  const found = spawnSync("redis-server", ["--version"], { stdio: "ignore" });
  if (found.error) {
    throw new Error("this test needs the redis-server binary on PATH (Debian: apt-get install redis-server)");
  }
  return spawn(
    "redis-server",
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      folder,
      "--appendonly",
      "yes",
      "--appendfsync",
      "always",
      "--save",
      "",
    ],
    { stdio: "ignore" },
  );
}

test("a Redis restart mid-run: 200 jobs, 0 lost, 0 duplicate results", async (t) => {
  const folder = mkdtempSync(path.join(tmpdir(), "redis-restart-"));
  const port = await freePort();
  const redisUrl = `redis://127.0.0.1:${port}`;
  let redis = startRedis(port, folder);
  t.after(() => redis.kill("SIGKILL"));
  await waitFor(
    "our Redis to start",
    () =>
      requireRedis(redisUrl).then(
        () => true,
        () => false,
      ),
    { timeoutMs: 10_000 },
  );

  const name = `restart-${randomUUID()}`;
  const queue = new BullmqJobQueue({
    redisUrl,
    name,
    prefix: "llm-api-test",
    attempts: 3,
    retentionMs: 3_600_000,
    leaseMs: 5000,
    backoffMs: 100,
  });
  const resultsFile = path.join(folder, "results.sqlite");
  const results = openFaultResults(resultsFile);
  for (let index = 0; index < 200; index += 1) await queue.enqueue({ type: "record", payload: { ms: 15 } });

  const worker = spawn(process.execPath, ["--no-warnings", "test/support/fault-worker-process.ts"], {
    env: {
      PATH: process.env.PATH,
      LOG_LEVEL: "fatal",
      DATA_DIR: folder,
      REDIS_URL: redisUrl,
      FAULT_BULLMQ_NAME: name,
      FAULT_RESULTS_FILE: resultsFile,
      JOB_CONCURRENCY: "4",
      JOB_LEASE_MS: "5000",
      JOB_BACKOFF_MS: "100",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  t.after(async () => {
    worker.kill("SIGKILL");
    await queue.close();
    results.close();
  });

  await waitFor("50 results", () => faultFigures(results).results >= 50, { timeoutMs: 30_000 });
  redis.kill("SIGTERM");
  await once(redis, "exit");
  const duringOutage = faultFigures(results);
  // The outage this test stages, not a wait for something: Redis stays down this long.
  await sleep(OUTAGE_MS);
  redis = startRedis(port, folder);

  const counts = await waitFor(
    "200 jobs to finish after the restart",
    async () => {
      const current = await queue.counts();
      return current.completed + current.failed === 200 ? current : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
  const final = faultFigures(results);
  t.diagnostic(
    `Redis restart after ${duringOutage.results} results (down ${OUTAGE_MS} ms): completed ${counts.completed}, failed ${counts.failed}, ` +
      `lost ${200 - counts.completed - counts.failed}, results ${final.results}, runs ${final.executions}, ` +
      `duplicate results ${final.finishedRuns - final.results}`,
  );
  assert.equal(counts.completed, 200);
  assert.equal(final.results, 200);
  assert.equal(final.finishedRuns - final.results, 0, "no job finished twice");
  await queue.destroy();
});
