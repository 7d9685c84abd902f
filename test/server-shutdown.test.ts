import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { readStreamToEnd } from "./support/read-stream-to-end.ts";
import { readStreamUntil } from "./support/read-stream-until.ts";
import { startServerProcess } from "./support/start-server-process.ts";
import { waitFor } from "./support/wait-for.ts";

function get(agent: http.Agent, url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk) => {
          body += chunk;
        });
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      })
      .on("error", reject);
  });
}

test("SIGTERM lets an in-flight request finish, then exits 0 at once despite idle keep-alive sockets", async (t) => {
  const { child, address, output } = await startServerProcess({
    args: ["test/support/slow-server-process.ts"],
    environment: { SHUTDOWN_TIMEOUT_MS: "10000" },
    stderr: "collect",
  });
  t.after(() => child.kill("SIGKILL"));
  const exited = once(child, "exit");

  // An idle keep-alive connection: with a 65 s keep-alive it would hold a naive close() for a minute.
  const idleAgent = new http.Agent({ keepAlive: true });
  assert.equal((await get(idleAgent, `${address}/health`)).status, 200);

  const slowAgent = new http.Agent({ keepAlive: true });
  let slowSettled = false;
  const slow = get(slowAgent, `${address}/test/slow?ms=1500`).finally(() => {
    slowSettled = true;
  });
  await waitFor("the slow request to be in flight", () => output().includes("slow request started"));

  const signalledAt = Date.now();
  child.kill("SIGTERM");

  // New connections are refused while draining: until the listener closes, a probe still answers.
  await waitFor("new connections to be refused", () =>
    get(new http.Agent(), `${address}/health`).then(
      () => false,
      (error: Error) => /ECONNREFUSED/.test(error.message),
    ),
  );
  assert.equal(slowSettled, false, "the listener closed while the slow request was still in flight");

  const finished = await slow;
  const finishedAt = Date.now();
  assert.equal(finished.status, 200);
  assert.deepEqual(JSON.parse(finished.body), { finished: true });

  const [code] = await exited;
  const exitedAt = Date.now();
  assert.equal(code, 0, output());
  assert.ok(exitedAt >= finishedAt - 50, "the process waited for the in-flight request");
  assert.ok(exitedAt - signalledAt < 5000, `exited ${exitedAt - signalledAt} ms after SIGTERM`);
  assert.match(output(), /shutting down/);
  idleAgent.destroy();
  slowAgent.destroy();
});

const LONG_MESSAGE = Array.from({ length: 400 }, (_, index) => `word${index}`).join(" ");

/** Each stream kind, on the echo model, and how it reads once the shutdown deadline ended it. */
const STREAM_KINDS = [
  {
    path: "/chat/stream",
    body: { message: LONG_MESSAGE },
    endsWithError: (text: string) =>
      /event: error\ndata: SHUTTING_DOWN: [^\n]+\n\ndata: \[DONE\]\n\n$/.test(text),
  },
  {
    path: "/chat/stream-text",
    body: { message: LONG_MESSAGE },
    endsWithError: (text: string) => /\n\[ERROR\] SHUTTING_DOWN: [^\n]+\n$/.test(text),
  },
  {
    path: "/v1/chat/completions",
    body: { model: "echo", stream: true, messages: [{ role: "user", content: LONG_MESSAGE }] },
    endsWithError: (text: string) =>
      /data: \{"error":\{[^\n]*"code":"shutting_down"[^\n]*\n\ndata: \[DONE\]\n\n$/.test(text),
  },
];

test("a stream still running at the shutdown deadline ends with its error frame, on every stream kind", async (t) => {
  const { child, address, output } = await startServerProcess({
    args: ["src/server.ts"],
    environment: {
      SHUTDOWN_TIMEOUT_MS: "500",
      ECHO_DELAY_MS: "50",
      DATA_DIR: mkdtempSync(join(tmpdir(), "shutdown-")),
    },
    stderr: "collect",
  });
  t.after(() => child.kill("SIGKILL"));
  const exited = once(child, "exit");

  const streams = await Promise.all(
    STREAM_KINDS.map(async (kind) => {
      const response = await fetch(`${address}${kind.path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(kind.body),
      });
      assert.equal(response.status, 200, kind.path);
      const reader = response.body!.getReader();
      // The reply has begun: the echo model has sent its first words.
      const started = await readStreamUntil(reader, "echo");
      return { kind, reader, started };
    }),
  );
  child.kill("SIGTERM");
  for (const { kind, reader, started } of streams) {
    const text = started + (await readStreamToEnd(reader, 5000));
    assert.ok(!text.includes("word399"), `${kind.path} was cut before the end of the reply`);
    assert.ok(kind.endsWithError(text), `${kind.path} ends ${JSON.stringify(text.slice(-200))}`);
  }
  const [code] = await exited;
  assert.equal(code, 0, output());
  assert.match(output(), /"interrupted_streams":3/);
});
