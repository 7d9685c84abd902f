import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { requireRedis } from "./require-redis.ts";
import { waitFor } from "./wait-for.ts";

export type PrivateRedis = {
  url: string;
  /** Kills the server: to its clients Redis is gone. */
  stop(): Promise<void>;
  /** Starts it again on the same port and folder, and waits until it answers. */
  start(): Promise<void>;
};

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

/** A Redis of the test's own, to stop and start mid-run; never the shared one. */
export async function startPrivateRedis(t: { after: (fn: () => unknown) => void }): Promise<PrivateRedis> {
  if (spawnSync("redis-server", ["--version"], { stdio: "ignore" }).error) {
    throw new Error("this test needs the redis-server binary on PATH (Debian: apt-get install redis-server)");
  }
  const folder = mkdtempSync(path.join(tmpdir(), "private-redis-"));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--dir", folder, "--appendonly", "yes", "--save", ""],
      { stdio: "ignore" },
    );
    await waitFor(
      "the private Redis to answer",
      () =>
        requireRedis(url).then(
          () => true,
          () => false,
        ),
      { timeoutMs: 10_000 },
    );
  };
  const stop = async () => {
    if (child === undefined || child.exitCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGKILL");
    await exited;
  };
  t.after(stop);
  await start();
  return { url, stop, start };
}
