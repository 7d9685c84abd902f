/**
 * `wrk` (the Debian package) drives the JSON endpoints: it is written in C, so on the load core it
 * outruns any Node client. A generated Lua script sets the POST body and headers and prints the
 * latency percentiles as one JSON line.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadCore, pinnedCommand } from "./pinned-command.ts";
import { runCommand } from "./run-command.ts";

export type WrkOptions = {
  url: string;
  body: string;
  headers?: Record<string, string>;
  connections: number;
  durationSeconds: number;
};

export type WrkResult = {
  requests: number;
  requestsPerSecond: number;
  durationSeconds: number;
  /** Non-2xx/3xx answers plus connect, read, write and timeout errors. */
  errors: number;
  errorDetail: { connect: number; read: number; write: number; status: number; timeout: number };
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
};

/** `wrk`'s version line, or undefined when it is not installed. */
export function wrkVersion(): string | undefined {
  const result = spawnSync("wrk", ["--version"], { encoding: "utf8" });
  if (result.error) return undefined;
  return `${result.stdout}${result.stderr}`
    .split("\n")[0]
    .replace(/ Copyright.*/, "")
    .trim();
}

export const wrkMissingMessage =
  "wrk is not installed: the JSON scenarios need it (Debian/Ubuntu: sudo apt-get install -y wrk).";

const marker = "BENCH_WRK_JSON ";

function luaScript(body: string, headers: Record<string, string>): string {
  const long = (text: string): string => `[==[${text}]==]`;
  const headerLines = Object.entries({ "Content-Type": "application/json", ...headers })
    .map(([name, value]) => `wrk.headers[ ${long(name)} ] = ${long(value)}`)
    .join("\n");
  return `wrk.method = "POST"
wrk.body = ${long(body)}
${headerLines}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '${marker}{"requests":%d,"durationUs":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latencyUs":{"mean":%.3f,"p50":%d,"p90":%d,"p99":%d,"max":%d}}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
`;
}

type RawWrk = {
  requests: number;
  durationUs: number;
  errors: WrkResult["errorDetail"];
  latencyUs: { mean: number; p50: number; p90: number; p99: number; max: number };
};

/** Runs wrk with one thread on the load core and returns its counts and latency percentiles. */
export async function runWrk(options: WrkOptions): Promise<WrkResult> {
  const directory = mkdtempSync(path.join(os.tmpdir(), "bench-wrk-"));
  const scriptPath = path.join(directory, "post.lua");
  writeFileSync(scriptPath, luaScript(options.body, options.headers ?? {}));
  try {
    const args = [
      "-t1",
      `-c${options.connections}`,
      `-d${options.durationSeconds}s`,
      "--timeout",
      "10s",
      "-s",
      scriptPath,
      options.url,
    ];
    const result = await runCommand(pinnedCommand(loadCore, "wrk", args), {
      timeoutMs: (options.durationSeconds + 30) * 1000,
    });
    const line = result.stdout.split("\n").find((candidate) => candidate.startsWith(marker));
    if (!line)
      throw new Error(`wrk printed no result (exit ${result.code}): ${result.stderr || result.stdout}`);
    const raw = JSON.parse(line.slice(marker.length)) as RawWrk;
    const durationSeconds = raw.durationUs / 1e6;
    const errors = Object.values(raw.errors).reduce((sum, count) => sum + count, 0);
    const milliseconds = (microseconds: number): number => microseconds / 1000;
    return {
      requests: raw.requests,
      requestsPerSecond: raw.requests / durationSeconds,
      durationSeconds,
      errors,
      errorDetail: raw.errors,
      latencyMs: {
        mean: milliseconds(raw.latencyUs.mean),
        p50: milliseconds(raw.latencyUs.p50),
        p90: milliseconds(raw.latencyUs.p90),
        p99: milliseconds(raw.latencyUs.p99),
        max: milliseconds(raw.latencyUs.max),
      },
    };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
