import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { startJobWorker } from "../../src/jobs/start-job-worker.ts";
import { buildTestApp } from "../support/build-test-app.ts";
import { collectGarbage } from "../support/collect-garbage.ts";
import { makeDocx, makePdf } from "../support/document-fixtures.ts";
import { waitFor } from "../support/wait-for.ts";

const runFile = promisify(execFile);

type Context = { after: (callback: () => unknown) => void; diagnostic: (message: string) => void };

async function listeningApp(t: Context, environment: Record<string, string> = {}, worker = true) {
  const built = await buildTestApp({
    environment: { LOG_LEVEL: "silent", CHUNK_SIZE: "300", CHUNK_OVERLAP: "30", ...environment },
  });
  const { app, config, services } = built;
  const running = worker
    ? startJobWorker({
        config,
        jobQueue: app.jobQueue,
        knowledgeStore: app.knowledgeStore,
        uploads: services.uploads,
        logger: app.log as never,
      })
    : undefined;
  t.after(async () => {
    await running?.stop({ timeoutMs: 0 });
    await app.close();
  });
  const address = await app.listen({ port: 0, host: "127.0.0.1" });
  return { ...built, address, uploadsFolder: path.join(config.dataDir, "uploads") };
}

function filesIn(folder: string): string[] {
  try {
    return readdirSync(folder);
  } catch {
    return [];
  }
}

/**
 * A job's upload is deleted by its worker just after the job's final state is stored, so a test
 * that saw the state waits (briefly) for the bytes to go.
 */
async function uploadsEmptied(folder: string, what: string): Promise<void> {
  await waitFor(what, () => filesIn(folder).length === 0, { timeoutMs: 5_000 });
}

async function finished(address: string, jobId: string) {
  return waitFor(
    `job ${jobId} to finish`,
    async () => {
      const body = (await (await fetch(`${address}/status/${jobId}`)).json()) as Record<string, unknown>;
      return body.status === "completed" || body.status === "failed" ? body : undefined;
    },
    { timeoutMs: 30_000 },
  );
}

test("POST /ingest takes several files as multipart/form-data: a job each, pages searchable, bytes deleted after", async (t) => {
  const { address, uploadsFolder } = await listeningApp(t);
  const pdf = await makePdf([
    "The staff handbook. Holidays are booked through the people team.",
    "Expenses are refunded within ten working days of a receipt.",
  ]);
  const docx = await makeDocx(["Parking permits are issued by reception on the ground floor."]);
  const form = new FormData();
  form.append("collection", "handbooks");
  form.append("file", new Blob([pdf], { type: "application/pdf" }), "handbook.pdf");
  form.append("file", new Blob([docx]), "../../etc/parking.docx");
  const response = await fetch(`${address}/ingest`, { method: "POST", body: form });
  assert.equal(response.status, 202);
  const answer = (await response.json()) as { jobs: { job_id: string; status: string; source: string }[] };
  assert.equal(answer.jobs.length, 2);
  assert.deepEqual(
    answer.jobs.map((job) => [job.status, job.source]),
    [
      ["queued", "handbook.pdf"],
      ["queued", "parking.docx"],
    ],
  );
  assert.equal(response.headers.get("location"), `/status/${answer.jobs[0].job_id}`);

  const results = await Promise.all(answer.jobs.map((job) => finished(address, job.job_id)));
  for (const result of results) assert.equal(result.status, "completed", JSON.stringify(result));
  assert.equal((results[0].result as { content_type: string }).content_type, "application/pdf");
  assert.equal((results[0].result as { collection: string }).collection, "handbooks");

  const search = async (query: string, collection?: string) => {
    const url = `${address}/knowledge/search?q=${encodeURIComponent(query)}${collection ? `&collection=${collection}` : ""}`;
    return ((await (await fetch(url)).json()) as { results: Record<string, unknown>[] }).results;
  };
  const expenses = await search("expenses refunded", "handbooks");
  assert.equal(expenses[0].source, "handbook.pdf");
  assert.equal(expenses[0].page, 2);
  assert.equal((await search("parking permits", "handbooks"))[0].source, "parking.docx");
  // Another collection does not see them.
  assert.deepEqual(await search("expenses refunded"), []);
  await uploadsEmptied(uploadsFolder, "uploaded bytes to be deleted once their jobs are done");
  const listed = (await (await fetch(`${address}/knowledge/documents?collection=handbooks`)).json()) as {
    documents: { source: string; collection: string }[];
    total: number;
  };
  assert.equal(listed.total, 2);
  assert.ok(listed.documents.every((document) => document.collection === "handbooks"));
  const other = (await (await fetch(`${address}/knowledge/documents?collection=default`)).json()) as {
    total: number;
  };
  assert.equal(other.total, 0);
});

test("an uploaded encrypted PDF or damaged DOCX fails its job with its code, and its bytes are deleted", async (t) => {
  const { address, uploadsFolder } = await listeningApp(t);
  const form = new FormData();
  form.append("file", new Blob([await makePdf(["secret"], { userPassword: "pw" })]), "locked.pdf");
  form.append("file", new Blob([(await makeDocx(["words"])).subarray(0, 60)]), "cut.docx");
  const response = await fetch(`${address}/ingest`, { method: "POST", body: form });
  assert.equal(response.status, 202);
  const { jobs } = (await response.json()) as { jobs: { job_id: string }[] };
  const results = await Promise.all(jobs.map((job) => finished(address, job.job_id)));
  assert.deepEqual(
    results.map((result) => [result.status, result.error_code]),
    [
      ["failed", "SOURCE_ENCRYPTED"],
      ["failed", "SOURCE_UNREADABLE"],
    ],
  );
  await uploadsEmptied(uploadsFolder, "a failed job's upload to be deleted too");
});

test("an upload over INGEST_MAX_BYTES is refused with 413 while it streams and leaves no file behind", async (t) => {
  const { address, uploadsFolder, app } = await listeningApp(t, { INGEST_MAX_BYTES: "100000" });
  const form = new FormData();
  form.append("file", new Blob([await makeDocx(["small"])]), "fits.docx");
  form.append("file", new Blob([Buffer.alloc(300_000, "a")], { type: "text/plain" }), "big.txt");
  const response = await fetch(`${address}/ingest`, { method: "POST", body: form });
  assert.equal(response.status, 413);
  const body = (await response.json()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, "SOURCE_TOO_LARGE");
  assert.match(body.error.message, /larger than INGEST_MAX_BYTES \(100000\)/);
  assert.deepEqual(filesIn(uploadsFolder), [], "neither the file that fitted nor the partial one stays");
  assert.equal((await app.jobQueue.counts()).queued, 0, "no job was enqueued");
});

test("cancelling an upload's queued job deletes its bytes", async (t) => {
  const { address, uploadsFolder } = await listeningApp(t, {}, false);
  const form = new FormData();
  form.append("file", new Blob(["Some notes."]), "notes.txt");
  const { jobs } = (await (await fetch(`${address}/ingest`, { method: "POST", body: form })).json()) as {
    jobs: { job_id: string }[];
  };
  assert.equal(filesIn(uploadsFolder).length, 1);
  const cancelled = await fetch(`${address}/jobs/${jobs[0].job_id}/cancel`, { method: "POST" });
  assert.equal(((await cancelled.json()) as { status: string }).status, "cancelled");
  assert.deepEqual(filesIn(uploadsFolder), []);
});

test("an upload's unknown field, a bad collection or no file at all is a 400 naming it", async (t) => {
  const { address, uploadsFolder } = await listeningApp(t, {}, false);
  const send = async (fill: (form: FormData) => void) => {
    const form = new FormData();
    fill(form);
    const response = await fetch(`${address}/ingest`, { method: "POST", body: form });
    return {
      status: response.status,
      body: (await response.json()) as { error: { code: string; message: string } },
    };
  };
  const unknown = await send((form) => {
    form.append("file", new Blob(["words"]), "a.txt");
    form.append("tags", "x");
  });
  assert.equal(unknown.status, 400);
  assert.match(unknown.body.error.message, /field tags is not known/);
  const badCollection = await send((form) => {
    form.append("collection", "../etc");
    form.append("file", new Blob(["words"]), "a.txt");
  });
  assert.equal(badCollection.status, 400);
  assert.match(badCollection.body.error.message, /collection must match/);
  const none = await send((form) => form.append("collection", "handbooks"));
  assert.equal(none.status, 400);
  assert.match(none.body.error.message, /holds no file/);
  // A body that is not multipart at all, or breaks off inside a file: 400, never a 500.
  const cutShort = `--x\r\ncontent-disposition: form-data; name="file"; filename="a.txt"\r\n\r\nwords`;
  for (const body of ['{"source":"a","text":"b"}', cutShort]) {
    const malformed = await fetch(`${address}/ingest`, {
      method: "POST",
      headers: { "content-type": "multipart/form-data; boundary=x" },
      body,
    });
    assert.equal(malformed.status, 400, await malformed.clone().text());
    assert.match(((await malformed.json()) as { error: { message: string } }).error.message, /malformed/);
  }
  // Neither JSON nor multipart: its schema was never checked, so it is refused whole.
  const plain = await fetch(`${address}/ingest`, {
    method: "POST",
    headers: { "content-type": "text/plain" },
    body: "x",
  });
  assert.equal(plain.status, 415);
  assert.deepEqual(filesIn(uploadsFolder), []);
});

test("a 20 MB PDF upload streams to disk: the service's memory grows by far less than the file", async (t) => {
  const { address, uploadsFolder } = await listeningApp(
    t,
    { INGEST_MAX_BYTES: String(32 * 1_048_576) },
    false,
  );
  const folder = mkdtempSync(path.join(tmpdir(), "upload-20mb-"));
  const file = path.join(folder, "big.pdf");
  writeFileSync(file, await makePdf(["A large report."], { paddingBytes: 20 * 1_048_576 }));
  // The client is curl, in a process of its own, reading the file from disk as it sends it: what
  // this process holds beyond its baseline is the service's alone. (An in-process fetch held the
  // chunks it had queued on its socket, up to most of the file, whenever the service read slower.)
  const boundMiB = 10;
  const memory = () => {
    const usage = process.memoryUsage();
    return usage.heapUsed + usage.arrayBuffers;
  };
  collectGarbage();
  const baseline = memory();
  // What is held, not what was allocated: chunks already written to disk are garbage until the
  // collector runs, and counting them made the figure depend on when it last did. A sample past
  // half the bound is taken again after a collection; collecting at every sample starved the upload.
  const held = () => {
    const sample = memory();
    if (sample - baseline < (boundMiB / 2) * 1_048_576) return sample;
    collectGarbage();
    return memory();
  };
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, held());
  }, 2);
  const { stdout } = await runFile("curl", [
    "--silent",
    "--show-error",
    "--form",
    `file=@${file};type=application/pdf`,
    "--write-out",
    "\n%{http_code}",
    `${address}/ingest`,
  ]);
  clearInterval(sampler);
  peak = Math.max(peak, held());
  assert.equal(stdout.trim().split("\n").at(-1), "202", stdout);
  const stored = filesIn(uploadsFolder);
  assert.equal(stored.length, 1);
  const { size } = await import("node:fs/promises").then((fs) =>
    fs.stat(path.join(uploadsFolder, stored[0])),
  );
  assert.ok(size > 20 * 1_048_576, `the whole file is stored (${size} bytes)`);
  const grewMiB = (peak - baseline) / 1_048_576;
  t.diagnostic(
    `20 MiB PDF upload: heap + array buffers grew by at most ${grewMiB.toFixed(1)} MiB (a sample past ${boundMiB / 2} MiB counted after a collection)`,
  );
  assert.ok(grewMiB < boundMiB, `memory grew ${grewMiB.toFixed(1)} MiB for a 20 MiB upload`);
});
