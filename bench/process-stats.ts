/**
 * What a run reads about a target process from /proc: CPU time and resident memory. Linux only,
 * like the pinning; elsewhere the figures are recorded as missing rather than guessed.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

export type CpuSample = { cpuSeconds: number; atMs: number };

let clockTicksPerSecond: number | undefined;

function ticksPerSecond(): number {
  if (clockTicksPerSecond === undefined) {
    try {
      clockTicksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicksPerSecond = 100;
    }
  }
  return clockTicksPerSecond;
}

/** User plus system CPU time the process has used, from /proc/<pid>/stat (utime + stime). */
export function sampleCpu(pid: number): CpuSample {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may hold spaces and parentheses, so count fields after its last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const userTicks = Number(fields[11]);
  const systemTicks = Number(fields[12]);
  return { cpuSeconds: (userTicks + systemTicks) / ticksPerSecond(), atMs: performance.now() };
}

/** The share of one core the process used between two samples: 1 is a whole core. */
export function coreShare(before: CpuSample, after: CpuSample): number {
  const wallSeconds = (after.atMs - before.atMs) / 1000;
  return wallSeconds > 0 ? (after.cpuSeconds - before.cpuSeconds) / wallSeconds : 0;
}

/** Resident set size in bytes, from /proc/<pid>/status. */
export function readRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

/** The soft and hard open-file limits children get once `pinnedCommand` raised the soft one. */
export function openFileLimits(): { soft: number; hard: number } {
  const read = (flag: string): number => {
    const output = execFileSync("/bin/sh", ["-c", `ulimit ${flag}`], { encoding: "utf8" }).trim();
    return output === "unlimited" ? Number.POSITIVE_INFINITY : Number(output);
  };
  return { soft: read("-Sn"), hard: read("-Hn") };
}
