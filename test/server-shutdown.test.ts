import assert from "node:assert/strict";
import { once } from "node:events";
import http from "node:http";
import { test } from "node:test";
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
