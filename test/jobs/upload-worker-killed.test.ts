// An upload whose worker process dies (SIGKILL) while it runs the upload's job, on every queue
// (SQLite, BullMQ) and every upload store (files, PostgreSQL). Killed on every attempt, the job is
// failed by the queue's own recovery, with no processor alive, and its bytes are deleted all the
// same; killed once, it is retried with its bytes and completes.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { before, describe, test } from "node:test";
import type { IngestPayload } from "../../src/jobs/processors/ingest-document.ts";
import { startJobWorker } from "../../src/jobs/start-job-worker.ts";
import { buildTestApp } from "../support/build-test-app.ts";
import { requirePostgres } from "../support/require-postgres.ts";
import { requireRedis, TEST_REDIS_URL } from "../support/require-redis.ts";
import {
  removeJobQueue,
  UPLOAD_BACKENDS,
  type UploadBackend,
  uploadDatabase,
  uploadJobQueue,
} from "../support/upload-backends.ts";
import { waitFor } from "../support/wait-for.ts";

type Context = { after: (callback: () => unknown) => void };
/** Two attempts: on BullMQ, one stall is retried (maxStalledCount 1) and the second fails the job. */
const ATTEMPTS = 2;
/** Short, so a dead worker's lease (a BullMQ lock) lapses within a second. */
const LEASE_MS = 1000;

before(async () => {
  await requirePostgres();
  await requireRedis();
});

/**
 * The API over the backend's queue and upload store, with no worker of its own, and a way to start
 * worker processes that share with it only DATA_DIR, DATABASE_URL and REDIS_URL.
 */
async function killedWorkerService(t: Context, backend: UploadBackend) {
  const folder = mkdtempSync(path.join(tmpdir(), "upload-killed-"));
  const shared: Record<string, string> = {
    DATA_DIR: folder,
    JOB_ATTEMPTS: String(ATTEMPTS),
    JOB_LEASE_MS: String(LEASE_MS),
    JOB_BACKOFF_MS: "100",
  };
  const database = await uploadDatabase(backend);
  Object.assign(shared, database.environment);
  const queueName = `uploads-killed-${randomUUID()}`;
  if (backend.queue === "bullmq") shared.REDIS_URL = TEST_REDIS_URL;
  const jobQueue = uploadJobQueue(backend, {
    name: queueName,
    attempts: ATTEMPTS,
    leaseMs: LEASE_MS,
    backoffMs: 100,
  });
  const { app, config, services } = await buildTestApp({
    environment: { LOG_LEVEL: "silent", RUN_WORKER: "false", ...shared },
    ...(jobQueue ? { jobQueue } : {}),
  });
  const children = new Set<ChildProcess>();
  const workers: { stop: (options: { timeoutMs: number }) => Promise<void> }[] = [];
  t.after(async () => {
    await Promise.all(
      [...children].map((child) => {
        const exit = once(child, "exit");
        child.kill("SIGKILL");
        return exit;
      }),
    );
    await Promise.all(workers.map((worker) => worker.stop({ timeoutMs: 0 })));
    await app.close();
    await removeJobQueue(jobQueue);
    await database.dropped();
  });
  const address = await app.listen({ port: 0, host: "127.0.0.1" });

  /** A worker process whose ingest runs kill it; `signal` is what it died of, once it has. */
  const crashingWorker = () => {
    const child = spawn(
      process.execPath,
      ["--no-warnings", "test/support/crashing-ingest-worker-process.ts"],
      {
        env: { PATH: process.env.PATH, LOG_LEVEL: "warn", CRASH_TEST_QUEUE: queueName, ...shared },
        stdio: ["ignore", "inherit", "inherit"],
      },
    );
    children.add(child);
    const worker: { exited: boolean; signal: NodeJS.Signals | null; exit: Promise<NodeJS.Signals | null> } = {
      exited: false,
      signal: null,
      exit: once(child, "exit").then(([, signal]) => {
        children.delete(child);
        worker.exited = true;
        worker.signal = signal as NodeJS.Signals | null;
        return worker.signal;
      }),
    };
    return worker;
  };
  /** The service's own worker in this process, with the real ingest processor. */
  const startWorker = () => {
    workers.push(
      startJobWorker({
        config,
        jobQueue: app.jobQueue,
        knowledgeStore: app.knowledgeStore,
        uploads: services.uploads,
        logger: app.log as never,
      }),
    );
  };
  const upload = async () => {
    const form = new FormData();
    form.append("file", new Blob(["Notes about lighthouses and their keepers."]), "notes.txt");
    const response = await fetch(`${address}/ingest`, { method: "POST", body: form });
    assert.equal(response.status, 202);
    const [{ job_id: jobId }] = ((await response.json()) as { jobs: { job_id: string }[] }).jobs;
    const uploadId = ((await app.jobQueue.get(jobId))?.payload as IngestPayload | undefined)?.upload;
    assert.ok(uploadId, "the job names its upload");
    assert.ok(await services.uploads.read(uploadId), "the bytes wait in the upload store");
    return { jobId, uploadId };
  };
  const status = async (jobId: string) =>
    (await (await fetch(`${address}/status/${jobId}`)).json()) as {
      status: string;
      error_code?: string;
      result?: { bytes: number };
    };
  const isFinal = async (jobId: string) =>
    ["completed", "failed", "cancelled"].includes((await status(jobId)).status);
  const stored = async (uploadId: string) => (await services.uploads.read(uploadId)) !== undefined;
  return { crashingWorker, startWorker, upload, status, isFinal, stored };
}

for (const backend of UPLOAD_BACKENDS) {
  describe(`a killed worker's upload on ${backend.queue} with ${backend.uploads} uploads`, () => {
    test("killed on every attempt, the job is failed by the queue and its upload is deleted", async (t) => {
      const service = await killedWorkerService(t, backend);
      const { jobId, uploadId } = await service.upload();
      // A supervisor, as in production: each dead worker is replaced by another that crashes too,
      // until one of them finds the job's attempts spent and the queue fails it.
      const kills: (NodeJS.Signals | null)[] = [];
      let worker = service.crashingWorker();
      await waitFor(
        "the queue to end the job",
        async () => {
          if (worker.exited) {
            kills.push(worker.signal);
            assert.ok(
              kills.length <= ATTEMPTS + 1,
              `the job ends after its attempts, not ${kills.length} kills`,
            );
            worker = service.crashingWorker();
          }
          return service.isFinal(jobId);
        },
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      const failed = await service.status(jobId);
      assert.deepEqual([failed.status, failed.error_code], ["failed", "JOB_LEASE_EXPIRED"]);
      assert.deepEqual(kills, Array(ATTEMPTS).fill("SIGKILL"), "one kill per attempt");
      await waitFor("the upload to be deleted", async () => !(await service.stored(uploadId)));
    });

    test("killed once, the job keeps its upload, is retried and completes", async (t) => {
      const service = await killedWorkerService(t, backend);
      const { jobId, uploadId } = await service.upload();
      assert.equal(await service.crashingWorker().exit, "SIGKILL");
      assert.equal(await service.stored(uploadId), true, "the bytes wait for the next attempt");
      service.startWorker();
      await waitFor("the job to end", () => service.isFinal(jobId), { timeoutMs: 20_000 });
      const done = await service.status(jobId);
      // The second attempt read the bytes: an upload deleted at the kill would fail it (SOURCE_NOT_FOUND).
      assert.equal(done.status, "completed", JSON.stringify(done));
      assert.equal(done.result?.bytes, "Notes about lighthouses and their keepers.".length);
      await waitFor("the upload to be deleted", async () => !(await service.stored(uploadId)));
    });
  });
}
