// The whole service (API + in-service worker, SQLite mode) is killed with SIGKILL in the middle of
// an ingestion and started again on the same DATA_DIR: the job must complete, once.
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { chunkText } from "../../src/knowledge/chunk-text.ts";
import { type ServerProcess, startServerProcess } from "../support/start-server-process.ts";
import { waitFor } from "../support/wait-for.ts";

function startService(dataDir: string): Promise<ServerProcess> {
  return startServerProcess({
    args: ["--no-warnings", "test/support/slow-ingest-server-process.ts"],
    environment: {
      DATA_DIR: dataDir,
      JOB_LEASE_MS: "1000",
      JOB_BACKOFF_MS: "100",
      CHUNK_SIZE: "100",
      CHUNK_OVERLAP: "10",
      SLOW_BATCH_MS: "150",
    },
    stderr: "inherit",
  });
}

test("the service killed with kill -9 mid-ingest and restarted: the job completes", async (t) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "service-crash-"));
  const first = await startService(dataDir);
  t.after(() => first.child.kill("SIGKILL"));
  const text = Array.from({ length: 300 }, (_, index) => `Paragraph ${index} is about kestrels.`).join(
    "\n\n",
  );
  const accepted = await fetch(`${first.address}/ingest`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ source: "kestrels.txt", text }),
  });
  assert.equal(accepted.status, 202);
  const { job_id } = (await accepted.json()) as { job_id: string };
  const status = async (address: string) =>
    (await (await fetch(`${address}/status/${job_id}`)).json()) as {
      status: string;
      progress: number;
      attempts: number;
      result?: { chunks: number; document_id: string };
    };

  const midway = await waitFor("the ingestion to be midway", async () => {
    const current = await status(first.address);
    return current.status === "running" && current.progress >= 45 ? current : undefined;
  });
  first.child.kill("SIGKILL");
  await once(first.child, "exit");

  const second = await startService(dataDir);
  t.after(() => second.child.kill("SIGKILL"));
  const done = await waitFor(
    "the job to complete after the restart",
    async () => {
      const current = await status(second.address);
      return current.status === "completed" || current.status === "failed" ? current : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  t.diagnostic(
    `service kill -9 at ${midway.progress}% -> after restart: ${done.status}, attempts ${done.attempts}, ${done.result?.chunks} chunks`,
  );
  assert.equal(done.status, "completed");
  assert.equal(done.attempts, 2);
  assert.equal(done.result?.chunks, chunkText(text, { size: 100, overlap: 10 }).length);
  second.child.kill("SIGTERM");
  const [code] = await once(second.child, "exit");
  assert.equal(code, 0);
});
