// An uploaded file's bytes live exactly as long as its job can still read them, on every queue
// (SQLite, BullMQ) and every upload store (files, PostgreSQL): gone once the job is completed,
// failed or cancelled (queued or running), kept when a shutting-down worker gives the job back.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { before, describe, test } from "node:test";
import type { JobFinishedState } from "../../src/jobs/job-worker.ts";
import type { IngestPayload } from "../../src/jobs/processors/ingest-document.ts";
import { startJobWorker } from "../../src/jobs/start-job-worker.ts";
import type { KnowledgeStore } from "../../src/knowledge/knowledge-store.ts";
import { buildTestApp } from "../support/build-test-app.ts";
import { makeDocx } from "../support/document-fixtures.ts";
import { gatedKnowledgeStore } from "../support/gated-knowledge-store.ts";
import { requirePostgres } from "../support/require-postgres.ts";
import { requireRedis } from "../support/require-redis.ts";
import {
  removeJobQueue,
  UPLOAD_BACKENDS,
  type UploadBackend,
  uploadDatabase,
  uploadJobQueue,
} from "../support/upload-backends.ts";
import { waitFor } from "../support/wait-for.ts";

type Context = { after: (callback: () => unknown) => void };

before(async () => {
  await requirePostgres();
  await requireRedis();
});

/** Some 30 KB of text: about a hundred 300-character chunks, so several chunk-writing steps. */
const LONG_NOTES = Array.from(
  { length: 400 },
  (_, line) => `Line ${line} of the long notes about lighthouses and their keepers.`,
).join("\n");

/** The app over the backend's queue and upload store, with no worker until the test starts one. */
async function uploadService(t: Context, backend: UploadBackend, options: { attempts?: number } = {}) {
  const attempts = options.attempts ?? 3;
  const environment: Record<string, string> = {
    LOG_LEVEL: "silent",
    CHUNK_SIZE: "300",
    CHUNK_OVERLAP: "30",
    JOB_ATTEMPTS: String(attempts),
  };
  const database = await uploadDatabase(backend);
  Object.assign(environment, database.environment);
  const jobQueue = uploadJobQueue(backend, {
    name: `uploads-${randomUUID()}`,
    attempts,
    leaseMs: 5000,
    backoffMs: 50,
  });
  const built = await buildTestApp({ environment, ...(jobQueue ? { jobQueue } : {}) });
  const { app, config, services } = built;
  const workers: { stop: (options: { timeoutMs: number }) => Promise<void> }[] = [];
  /** What each run of the service's workers ended as, in order. */
  const outcomes: JobFinishedState[] = [];
  t.after(async () => {
    await Promise.all(workers.map((worker) => worker.stop({ timeoutMs: 0 })));
    await app.close();
    await removeJobQueue(jobQueue);
    await database.dropped();
  });
  const address = await app.listen({ port: 0, host: "127.0.0.1" });

  const startWorker = (knowledgeStore: KnowledgeStore = app.knowledgeStore) => {
    const worker = startJobWorker({
      config,
      jobQueue: app.jobQueue,
      knowledgeStore,
      uploads: services.uploads,
      logger: app.log as never,
      onJobFinished: (_type, state) => outcomes.push(state),
    });
    workers.push(worker);
    return worker;
  };
  const upload = async (files: { name: string; body: Uint8Array | string }[]) => {
    const form = new FormData();
    for (const file of files) form.append("file", new Blob([file.body]), file.name);
    const response = await fetch(`${address}/ingest`, { method: "POST", body: form });
    assert.equal(response.status, 202);
    const { jobs } = (await response.json()) as { jobs: { job_id: string }[] };
    return Promise.all(
      jobs.map(async ({ job_id }) => {
        const payload = (await app.jobQueue.get(job_id))?.payload as IngestPayload | undefined;
        const uploadId = payload?.upload;
        assert.ok(uploadId, "the job names its upload");
        assert.ok(await services.uploads.read(uploadId), "the bytes wait in the upload store");
        return { jobId: job_id, uploadId };
      }),
    );
  };
  const status = async (jobId: string) =>
    (await (await fetch(`${address}/status/${jobId}`)).json()) as { status: string; error_code?: string };
  const ended = (jobId: string) =>
    waitFor(
      `job ${jobId} to end`,
      async () => {
        const body = await status(jobId);
        return ["completed", "failed", "cancelled"].includes(body.status) ? body : undefined;
      },
      { timeoutMs: 30_000 },
    );
  const stored = async (uploadId: string) => (await services.uploads.read(uploadId)) !== undefined;
  return { app, address, outcomes, startWorker, upload, status, ended, stored };
}

for (const backend of UPLOAD_BACKENDS) {
  describe(`an upload's bytes on ${backend.queue} with ${backend.uploads} uploads`, () => {
    test("completed and failed jobs delete their uploads", async (t) => {
      const service = await uploadService(t, backend);
      service.startWorker();
      const [fine, broken] = await service.upload([
        { name: "notes.txt", body: "Some notes about lighthouses." },
        { name: "cut.docx", body: (await makeDocx(["words"])).subarray(0, 60) },
      ]);
      assert.equal((await service.ended(fine.jobId)).status, "completed");
      const failed = await service.ended(broken.jobId);
      assert.deepEqual([failed.status, failed.error_code], ["failed", "SOURCE_UNREADABLE"]);
      // Each job's upload is deleted after its end is recorded, so either may still be there when
      // both have ended: wait for both, not for one and then look at the other.
      await waitFor(
        "both uploads to be deleted",
        async () => !(await service.stored(fine.uploadId)) && !(await service.stored(broken.uploadId)),
      );
    });

    test("a job cancelled while queued deletes its upload at once", async (t) => {
      const service = await uploadService(t, backend);
      const [job] = await service.upload([{ name: "notes.txt", body: "Some notes about lighthouses." }]);
      const answer = await fetch(`${service.address}/jobs/${job.jobId}/cancel`, { method: "POST" });
      assert.equal(((await answer.json()) as { status: string }).status, "cancelled");
      assert.equal(await service.stored(job.uploadId), false);
    });

    test("a job cancelled while it runs deletes its upload", async (t) => {
      const service = await uploadService(t, backend);
      const gated = gatedKnowledgeStore(service.app.knowledgeStore);
      service.startWorker(gated.store);
      const [job] = await service.upload([{ name: "long-notes.txt", body: LONG_NOTES }]);
      await waitFor("the job to write its first chunks", () => gated.reached);
      const answer = await fetch(`${service.address}/jobs/${job.jobId}/cancel`, { method: "POST" });
      assert.equal(
        ((await answer.json()) as { status: string }).status,
        "running",
        "cancelled while running",
      );
      assert.equal(await service.stored(job.uploadId), true, "the running job still reads its bytes");
      gated.open();
      assert.equal((await service.ended(job.jobId)).status, "cancelled");
      await waitFor("the cancelled run to end", () => service.outcomes.includes("cancelled"));
      assert.equal(await service.stored(job.uploadId), false, "the cancelled job's upload is deleted");
    });

    test("a job its worker gives back at shutdown keeps its upload for the next worker, even on its only attempt", async (t) => {
      const service = await uploadService(t, backend, { attempts: 1 });
      const gated = gatedKnowledgeStore(service.app.knowledgeStore);
      const first = service.startWorker(gated.store);
      const [job] = await service.upload([{ name: "long-notes.txt", body: LONG_NOTES }]);
      await waitFor("the job to write its first chunks", () => gated.reached);
      await first.stop({ timeoutMs: 0 });
      // The interrupted run goes on to its next step, where it learns it was given back.
      gated.open();
      await waitFor("the given-back run to end", () => service.outcomes.includes("returned"));
      await waitFor("its last chunk write to land", () => gated.written >= 1);
      assert.equal((await service.status(job.jobId)).status, "queued");
      assert.equal(await service.stored(job.uploadId), true, "the bytes wait for the next worker");
      service.startWorker();
      const done = await service.ended(job.jobId);
      assert.equal(done.status, "completed", JSON.stringify(done));
      await waitFor("the upload to be deleted", async () => !(await service.stored(job.uploadId)));
    });
  });
}
