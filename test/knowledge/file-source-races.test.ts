// Races against a file source, each run by a real child process that changes the files while
// ingests read them: a folder inside INGEST_ROOT swapped for a symlink to an outside folder, and
// a file that grows after its size was checked.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { SourceError } from "../../src/knowledge/source-error.ts";
import { readFileSource } from "../../src/knowledge/sources/read-file-source.ts";
import { buildTestApp } from "../support/build-test-app.ts";
import { startAppWorker } from "../support/start-app-worker.ts";
import { waitFor } from "../support/wait-for.ts";

/** Runs `body` (a loop over `process.argv`) in a child process until the test ends. */
function startChild(t: { after: (callback: () => unknown) => void }, body: string, ...args: string[]) {
  // Work in slices between event-loop turns, so the child notices its stdin closing and exits.
  const script = `const fs = require("node:fs"); const [a, b] = process.argv.slice(1);
    process.stdin.on("end", () => process.exit(0)); process.stdin.resume();
    (function loop() { for (let i = 0; i < 200; i += 1) { ${body} } setImmediate(loop); })();`;
  const child: ChildProcess = spawn(process.execPath, ["-e", script, ...args], {
    stdio: ["pipe", "ignore", "inherit"],
  });
  t.after(async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill();
      await exited;
    }
  });
  return child;
}

test("a folder swapped for a symlink to outside INGEST_ROOT while 2,000 ingests run: the outside file is read 0 times", async (t) => {
  const folder = mkdtempSync(path.join(tmpdir(), "swap-race-"));
  const outside = path.join(folder, "outside");
  mkdirSync(outside);
  const secret = "outside secret quasar nebula pulsar ";
  writeFileSync(path.join(outside, "page.txt"), secret.repeat(3));
  const ingestRoot = path.join(folder, "root");
  mkdirSync(path.join(ingestRoot, "docs"), { recursive: true });
  const inside = "inside text about lighthouses";
  writeFileSync(path.join(ingestRoot, "docs", "page.txt"), inside);

  const { app } = await buildTestApp({
    environment: { INGEST_ROOT: ingestRoot, LOG_LEVEL: "silent", JOB_ATTEMPTS: "1", JOB_CONCURRENCY: "4" },
  });
  startAppWorker(t, app);
  const address = await app.listen({ port: 0, host: "127.0.0.1" });

  // docs: a folder, gone, a symlink to the outside folder, gone, the folder again; over and over.
  startChild(
    t,
    `fs.renameSync(a + "/docs", a + "/parked"); fs.symlinkSync(b, a + "/docs");
     fs.unlinkSync(a + "/docs"); fs.renameSync(a + "/parked", a + "/docs");`,
    ingestRoot,
    outside,
  );

  const ingests = 2000;
  const ids: string[] = [];
  for (let sent = 0; sent < ingests; sent += 50) {
    const batch = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const response = await fetch(`${address}/ingest`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ source: "docs/page.txt" }),
        });
        assert.equal(response.status, 202);
        return ((await response.json()) as { job_id: string }).job_id;
      }),
    );
    ids.push(...batch);
  }
  await waitFor(
    "every ingest to finish",
    async () => {
      const counts = await app.jobQueue.counts();
      return counts.queued + counts.running === 0;
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  );

  const outcomes = new Map<string, number>();
  let outsideReads = 0;
  for (const id of ids) {
    const job = await app.jobQueue.get(id);
    const key = job?.status === "completed" ? "completed" : `${job?.status} ${job?.errorCode}`;
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    const bytes = (job?.result as { bytes?: number } | null)?.bytes;
    if (bytes !== undefined && bytes !== Buffer.byteLength(inside)) outsideReads += 1;
  }
  t.diagnostic(`outcomes of ${ingests} raced ingests: ${JSON.stringify(Object.fromEntries(outcomes))}`);
  assert.equal(outsideReads, 0, "no ingest read the outside file");
  assert.deepEqual(await app.knowledgeStore.search("quasar nebula"), []);
  // The race ran: some ingests read the inside file, and some found the folder swapped.
  assert.ok((outcomes.get("completed") ?? 0) > 0, "some ingests read the inside file");
  assert.ok(outcomes.size > 1, "some ingests met the swapped folder");
});

test("a file that grows after its size is checked is cut at INGEST_MAX_BYTES and fails as too large", async (t) => {
  const ingestRoot = mkdtempSync(path.join(tmpdir(), "grow-race-"));
  const file = path.join(ingestRoot, "growing.txt");
  const maxBytes = 256 * 1024;
  writeFileSync(file, "");
  // Empty, then grown to three times the cap in 16 KiB appends; over and over.
  startChild(
    t,
    `fs.truncateSync(a); const fd = fs.openSync(a, "a"); const chunk = Buffer.alloc(16384, 120);
     for (let k = 0; k < Number(b) / 16384; k += 1) fs.writeSync(fd, chunk); fs.closeSync(fd);`,
    file,
    String(3 * maxBytes),
  );

  let reads = 0;
  let cut = 0;
  let refusedBySize = 0;
  const started = Date.now();
  while (reads < 300 || (cut === 0 && Date.now() - started < 10_000)) {
    reads += 1;
    try {
      const document = await readFileSource("growing.txt", { ingestRoot, maxBytes });
      assert.ok(document.body.length <= maxBytes, `read ${document.body.length} bytes, over the cap`);
    } catch (error) {
      assert.ok(error instanceof SourceError && error.code === "SOURCE_TOO_LARGE", String(error));
      if (/holds more than/.test(error.message)) cut += 1;
      else refusedBySize += 1;
    }
  }
  t.diagnostic(`${reads} reads: ${cut} cut at the cap while growing, ${refusedBySize} refused by size`);
  assert.ok(cut > 0, "some reads met a file that grew past the cap after its size check");
});
