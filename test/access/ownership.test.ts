import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { BullmqJobQueue } from "../../src/jobs/bullmq-job-queue.ts";
import type { JobQueue } from "../../src/jobs/job-queue.ts";
import { SqliteJobQueue } from "../../src/jobs/sqlite-job-queue.ts";
import { buildTestApp } from "../support/build-test-app.ts";
import { requireRedis, TEST_REDIS_URL } from "../support/require-redis.ts";

const ADMIN = "admin-canary-key-0123456789";
const STATIC = "static-canary-key-0123456789";
const common = { attempts: 1, retentionMs: 3_600_000, leaseMs: 30_000, backoffMs: 0 };

const backends: Record<string, () => Promise<JobQueue>> = {
  sqlite: async () =>
    new SqliteJobQueue({
      file: path.join(mkdtempSync(path.join(tmpdir(), "owned-jobs-")), "jobs.sqlite"),
      ...common,
    }),
  bullmq: async () => {
    await requireRedis();
    return new BullmqJobQueue({
      redisUrl: TEST_REDIS_URL,
      name: `owned-${randomUUID()}`,
      prefix: "llm-api-test",
      ...common,
    });
  },
};

for (const [backend, open] of Object.entries(backends)) {
  test(`${backend}: a job created with one key is 404 for another in /status, /jobs, cancel and events; the admin key sees it`, async (t) => {
    const jobQueue = await open();
    t.after(() => jobQueue.close());
    // No worker runs: the job stays queued, so a cancel that slipped through would show.
    const { app } = await buildTestApp({ environment: { ADMIN_API_KEY: ADMIN, API_KEYS: STATIC }, jobQueue });
    t.after(() => app.close());
    const as = (key: string) => ({ authorization: `Bearer ${key}` });
    const newKey = async (name: string) => {
      const response = await app.inject({
        method: "POST",
        url: "/admin/keys",
        headers: as(ADMIN),
        payload: { name },
      });
      return (response.json() as { key: string }).key;
    };
    const [owner, other] = [await newKey("owner"), await newKey("other")];

    const created = await app.inject({
      method: "POST",
      url: "/ingest",
      headers: as(owner),
      payload: { source: "note.txt", text: "owned text" },
    });
    assert.equal(created.statusCode, 202);
    const jobId = created.json().job_id as string;
    const byOther = await app.inject({
      method: "POST",
      url: "/ingest",
      headers: as(other),
      payload: { source: "other.txt", text: "other text" },
    });
    const otherJobId = byOther.json().job_id as string;

    for (const stranger of [other, STATIC]) {
      const status = await app.inject({ method: "GET", url: `/status/${jobId}`, headers: as(stranger) });
      assert.equal(status.statusCode, 404);
      assert.deepEqual(status.json(), { job_id: jobId, status: "not_found" });
      const cancel = await app.inject({
        method: "POST",
        url: `/jobs/${jobId}/cancel`,
        headers: as(stranger),
      });
      assert.equal(cancel.statusCode, 404);
      const events = await app.inject({
        method: "GET",
        url: `/status/${jobId}/events`,
        headers: as(stranger),
      });
      assert.equal(events.statusCode, 404);
      const list = await app.inject({ method: "GET", url: "/jobs", headers: as(stranger) });
      const ids = (list.json().jobs as { job_id: string }[]).map((job) => job.job_id);
      assert.ok(!ids.includes(jobId), "not in another key's list");
    }
    const otherList = (await app.inject({ method: "GET", url: "/jobs", headers: as(other) })).json();
    assert.deepEqual(
      otherList.jobs.map((job: { job_id: string }) => job.job_id),
      [otherJobId],
    );
    assert.equal(otherList.total, 1);

    const mine = await app.inject({ method: "GET", url: `/status/${jobId}`, headers: as(owner) });
    assert.equal(mine.statusCode, 200);
    assert.equal(mine.json().status, "queued", "the strangers' cancels did nothing");
    const ownList = (await app.inject({ method: "GET", url: "/jobs", headers: as(owner) })).json();
    assert.deepEqual(
      ownList.jobs.map((job: { job_id: string }) => job.job_id),
      [jobId],
    );
    const adminList = (await app.inject({ method: "GET", url: "/jobs", headers: as(ADMIN) })).json();
    const adminIds = adminList.jobs.map((job: { job_id: string }) => job.job_id);
    assert.ok(adminIds.includes(jobId) && adminIds.includes(otherJobId), "the admin key sees everything");
    assert.equal(
      (await app.inject({ method: "GET", url: `/status/${jobId}`, headers: as(ADMIN) })).statusCode,
      200,
    );

    const cancelled = await app.inject({ method: "POST", url: `/jobs/${jobId}/cancel`, headers: as(owner) });
    assert.equal(cancelled.statusCode, 200);
    assert.equal(cancelled.json().status, "cancelled");
  });
}
