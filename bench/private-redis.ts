/**
 * A Redis of the run's own, on the load core beside the fake upstream: the machine's Redis may be
 * scheduled on the service's core, and what the limits scenario measures is the service's cost
 * per request, not Redis's. Like the upstream, it is a dependency that runs elsewhere in production.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { Redis } from "ioredis";
import { loadCore, pinnedCommand } from "./pinned-command.ts";
import { freePort } from "./target-process.ts";

export type BenchRedis = { url: string; where: string; stop(): Promise<void> };

/** The run's own Redis when `redis-server` is installed; else the machine's, when it answers. */
export async function startBenchRedis(scratchDirectory: string): Promise<BenchRedis | undefined> {
  if (spawnSync("redis-server", ["--version"], { stdio: "ignore" }).error) {
    const shared = "redis://127.0.0.1:6379";
    return (await answers(shared))
      ? {
          url: shared,
          where: "the machine's Redis (not pinned: redis-server is not installed)",
          stop: async () => {},
        }
      : undefined;
  }
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const command = pinnedCommand(loadCore, "redis-server", [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    scratchDirectory,
    "--save",
    "",
    "--appendonly",
    "no",
  ]);
  const child: ChildProcess = spawn(command.file, command.args, { stdio: "ignore" });
  const deadline = Date.now() + 10_000;
  while (!(await answers(url))) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill("SIGKILL");
      throw new Error(`the bench's own redis-server did not answer on ${url}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    where: `a Redis of the run's own on core ${loadCore}`,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

async function answers(url: string): Promise<boolean> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on("error", () => {});
  try {
    await redis.connect();
    return (await redis.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}
