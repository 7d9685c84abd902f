import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, fstatSync, mkdtempSync, openSync, readSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type Command, pinnedCommand } from "./pinned-command.ts";

/**
 * A process a run sends load to: the fake upstream, the service, bare Fastify, the bare relay or a
 * peer gateway.
 */
export type TargetProcess = {
  name: string;
  pid: number;
  /** The core it is pinned to. */
  core: number;
  origin: string;
  /** Headers every request to it needs (Portkey's routing headers). */
  headers: Record<string, string>;
  /** The last lines it printed, for the error message when it dies. */
  output: () => string;
  /** How it ended ("exit code 1", "signal SIGSEGV"), or undefined while it runs. */
  exitStatus: () => string | undefined;
  stop: () => Promise<void>;
};

export type StartTargetOptions = {
  name: string;
  core: number;
  file: string;
  args: string[];
  port: number;
  environment?: NodeJS.ProcessEnv;
  cwd?: string;
  /** A path that answers (any status) once the process listens. */
  readyPath?: string;
  /** How long it may take to answer there; 30 s unless said (a service under valgrind needs minutes). */
  readyTimeoutMs?: number;
  headers?: Record<string, string>;
};

/** The last `bytes` of a file, or nothing when it cannot be read. */
function readTail(filePath: string, bytes: number): string {
  let descriptor: number | undefined;
  try {
    descriptor = openSync(filePath, "r");
    const size = fstatSync(descriptor).size;
    const length = Math.min(size, bytes);
    const buffer = Buffer.alloc(length);
    readSync(descriptor, buffer, 0, length, size - length);
    return buffer.toString("utf8");
  } catch {
    return "";
  } finally {
    if (descriptor !== undefined) closeSync(descriptor);
  }
}

/** A port nobody listens on right now, from the kernel. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Starts a target pinned to a core and resolves once it answers HTTP on its port. */
export async function startTarget(options: StartTargetOptions): Promise<TargetProcess> {
  const command: Command = pinnedCommand(options.core, options.file, options.args);
  // The target's output goes to a file, as a production log would, so the load core does not pay
  // for reading thousands of log lines a second; the tail is read back when something goes wrong.
  const logPath = path.join(mkdtempSync(path.join(tmpdir(), "bench-target-")), `${options.name}.log`);
  const logFile = openSync(logPath, "w");
  const child: ChildProcess = spawn(command.file, command.args, {
    env: options.environment ?? process.env,
    cwd: options.cwd,
    stdio: ["ignore", logFile, logFile],
  });
  closeSync(logFile);
  const output = (): string => readTail(logPath, 4000);
  let exited = false;
  let exitStatus: string | undefined;
  child.on("exit", (code, signal) => {
    exited = true;
    exitStatus = signal ? `signal ${signal}` : `exit code ${code}`;
  });
  const origin = `http://127.0.0.1:${options.port}`;
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const deadline = performance.now() + readyTimeoutMs;
  for (;;) {
    if (exited) throw new Error(`${options.name} exited while starting:\n${output()}`);
    if (performance.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(
        `${options.name} did not answer on ${origin} within ${readyTimeoutMs / 1000} s:\n${output()}`,
      );
    }
    try {
      await fetch(`${origin}${options.readyPath ?? "/"}`, { signal: AbortSignal.timeout(1000) });
      break;
    } catch {
      await sleep(100);
    }
  }
  if (child.pid === undefined) throw new Error(`${options.name} has no pid`);
  return {
    name: options.name,
    // `sh -c 'exec taskset ... node'` replaces itself twice, so the child's pid is the target's.
    pid: child.pid,
    core: options.core,
    origin,
    headers: options.headers ?? {},
    output,
    exitStatus: () => exitStatus,
    stop: async () => {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      const forced = setTimeout(() => child.kill("SIGKILL"), 5000);
      await gone;
      clearTimeout(forced);
    },
  };
}
