// An upload received by one process and ingested by a worker in another, which shares nothing
// with it but PostgreSQL and Redis.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { before, test } from "node:test";
import pg from "pg";
import { BullmqJobQueue } from "../../src/jobs/bullmq-job-queue.ts";
import { buildTestApp } from "../support/build-test-app.ts";
import { makePdf } from "../support/document-fixtures.ts";
import {
  dropSchema,
  requirePostgres,
  TEST_DATABASE_URL,
  uniqueSchemaName,
} from "../support/require-postgres.ts";
import { requireRedis, TEST_REDIS_URL } from "../support/require-redis.ts";
import { waitFor } from "../support/wait-for.ts";

before(async () => {
  await requirePostgres();
  await requireRedis();
});

/** The test database with this run's schema first on the search path, as a plain DATABASE_URL. */
function databaseUrlFor(schema: string): string {
  const url = new URL(TEST_DATABASE_URL);
  url.searchParams.set("options", `-c search_path=${schema}`);
  return url.href;
}

test("a worker process with only DATABASE_URL and REDIS_URL completes an uploaded PDF's job; the bytes are deleted", async (t) => {
  const schema = uniqueSchemaName();
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA "${schema}"`);
  t.after(async () => {
    await admin.end();
    await dropSchema(schema);
  });
  const databaseUrl = databaseUrlFor(schema);
  const queueName = `uploads-${randomUUID()}`;
  const queue = new BullmqJobQueue({
    redisUrl: TEST_REDIS_URL,
    name: queueName,
    prefix: "llm-api-test",
    attempts: 2,
    retentionMs: 3_600_000,
    leaseMs: 5000,
    backoffMs: 100,
  });
  // The API process: no worker of its own.
  const { app } = await buildTestApp({
    jobQueue: queue,
    environment: {
      LOG_LEVEL: "silent",
      DATABASE_URL: databaseUrl,
      REDIS_URL: TEST_REDIS_URL,
      RUN_WORKER: "false",
    },
  });
  t.after(async () => {
    await app.close();
    await queue.close();
  });
  const address = await app.listen({ port: 0, host: "127.0.0.1" });

  const form = new FormData();
  const pdf = await makePdf(["Cover page.", "The lighthouse on page two is painted red and white."]);
  form.append("file", new Blob([pdf], { type: "application/pdf" }), "lighthouse.pdf");
  const response = await fetch(`${address}/ingest`, { method: "POST", body: form });
  assert.equal(response.status, 202);
  const [{ job_id }] = ((await response.json()) as { jobs: { job_id: string }[] }).jobs;
  const parts = await admin.query(`SELECT count(*)::int AS n FROM "${schema}".knowledge_upload_parts`);
  assert.ok(parts.rows[0].n >= 1, "the upload waits in PostgreSQL");

  const worker = spawn(process.execPath, ["--no-warnings", "test/support/upload-worker-process.ts"], {
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: databaseUrl,
      REDIS_URL: TEST_REDIS_URL,
      UPLOAD_TEST_QUEUE: queueName,
      // A folder of its own, empty: nothing reaches the worker through files.
      DATA_DIR: mkdtempSync(path.join(tmpdir(), "upload-worker-")),
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  t.after(async () => {
    if (worker.exitCode === null) {
      worker.kill("SIGKILL");
      await once(worker, "exit");
    }
  });

  const done = await waitFor(
    "the worker process to finish the upload's job",
    async () => {
      const body = (await (await fetch(`${address}/status/${job_id}`)).json()) as {
        status: string;
        result?: { content_type: string; chunks: number };
        error?: string;
      };
      return body.status === "completed" || body.status === "failed" ? body : undefined;
    },
    { timeoutMs: 60_000 },
  );
  assert.equal(done.status, "completed", JSON.stringify(done));
  assert.equal(done.result?.content_type, "application/pdf");
  const search = (await (await fetch(`${address}/knowledge/search?q=lighthouse%20painted`)).json()) as {
    results: { source: string; page?: number }[];
  };
  assert.equal(search.results[0]?.source, "lighthouse.pdf");
  assert.equal(search.results[0]?.page, 2);
  const left = await admin.query(`SELECT count(*)::int AS n FROM "${schema}".knowledge_upload_parts`);
  assert.equal(left.rows[0].n, 0, "the upload's bytes are deleted once its job is done");
});
