import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { startServerProcess } from "./support/start-server-process.ts";

test("an unwritable DATA_DIR leaves chat serving, /ready naming the queue and store, and jobs 503", async (t) => {
  // A path below a regular file can never be created, even by root (a read-only volume, a typo).
  const blocker = path.join(mkdtempSync(path.join(tmpdir(), "llm-api-degraded-")), "not-a-folder");
  writeFileSync(blocker, "");
  const server = await startServerProcess({
    args: ["src/server.ts"],
    environment: { DATA_DIR: path.join(blocker, "data"), ECHO_DELAY_MS: "0" },
    stderr: "collect",
  });
  t.after(() => server.child.kill("SIGKILL"));

  assert.equal((await fetch(`${server.address}/health`)).status, 200);

  const ready = await fetch(`${server.address}/ready`);
  assert.equal(ready.status, 503);
  assert.deepEqual(await ready.json(), { status: "not_ready", failing: ["job_queue", "knowledge_store"] });

  const chat = await fetch(`${server.address}/chat`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ message: "still here?" }),
  });
  assert.equal(chat.status, 200);
  assert.match(((await chat.json()) as { reply: string }).reply, /still here\?/);

  const ingest = await fetch(`${server.address}/ingest`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ source: "note.txt", text: "hello" }),
  });
  assert.equal(ingest.status, 503);
  assert.equal(ingest.headers.get("retry-after"), "5");
  assert.equal(((await ingest.json()) as { error: { code: string } }).error.code, "NOT_READY");
  assert.match(server.output(), /job queue could not be opened/);
});
