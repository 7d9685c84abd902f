// A NUL is what SQLite cuts a stored text short at and what PostgreSQL cannot store: an ingest
// must neither lose the text after one silently nor fail with an internal error over it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { buildTestApp } from "../support/build-test-app.ts";
import { privateDatabaseUrl } from "../support/require-postgres.ts";
import { startAppWorker } from "../support/start-app-worker.ts";
import { waitFor } from "../support/wait-for.ts";

type JobStatus = { status: string; error_code?: string };

for (const store of ["SQLite", "PostgreSQL"] as const) {
  test(`${store}: a text with a NUL past its first 8 KiB is refused as binary; a JSON value's \\u0000 is taken out and the rest kept`, async (t) => {
    const environment: Record<string, string> = { LOG_LEVEL: "silent", JOB_ATTEMPTS: "1" };
    if (store === "PostgreSQL") {
      const database = await privateDatabaseUrl();
      t.after(database.drop);
      environment.DATABASE_URL = database.url;
    }
    const { app } = await buildTestApp({ environment });
    startAppWorker(t, app);
    const ingest = async (source: string, text: string): Promise<JobStatus> => {
      const queued = await app.inject({ method: "POST", url: "/ingest", payload: { source, text } });
      assert.equal(queued.statusCode, 202, queued.body);
      const { job_id } = queued.json() as { job_id: string };
      let job: JobStatus = { status: "queued" };
      await waitFor(`${source} to end`, async () => {
        job = (await app.inject({ method: "GET", url: `/status/${job_id}` })).json() as JobStatus;
        return job.status === "completed" || job.status === "failed";
      });
      return job;
    };

    const late = await ingest(
      "late-nul.txt",
      `${"Lighthouse keepers trim the wicks. ".repeat(300)}before\u0000after`,
    );
    assert.deepEqual([late.status, late.error_code], ["failed", "SOURCE_UNSUPPORTED_TYPE"]);

    const json = await ingest(
      "lamps.json",
      JSON.stringify({ room: "Lamp\u0000room", note: "paraffin wick\u0000s" }),
    );
    assert.equal(json.status, "completed");
    const found = await app.inject({ method: "GET", url: "/knowledge/search?q=paraffin" });
    const { results } = found.json() as { results: { source: string; text: string }[] };
    assert.deepEqual(
      results.map((result) => [result.source, result.text]),
      [["lamps.json", "room: Lamproom\n\nnote: paraffin wicks"]],
    );
  });
}
