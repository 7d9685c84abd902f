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
  const stat = readProcFile(`/proc/${pid}/stat`);
  // A target that died mid-measurement has no figure; the run records the crash separately.
  if (stat === undefined) return { cpuSeconds: Number.NaN, atMs: performance.now() };
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
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readProcFile(`/proc/${pid}/status`) ?? "");
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

function readProcFile(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

/** The soft and hard open-file limits children get once `pinnedCommand` raised the soft one. */
export function openFileLimits(): { soft: number; hard: number } {
  const read = (flag: string): number => {
    const output = execFileSync("/bin/sh", ["-c", `ulimit ${flag}`], { encoding: "utf8" }).trim();
    return output === "unlimited" ? Number.POSITIVE_INFINITY : Number(output);
  };
  return { soft: read("-Sn"), hard: read("-Hn") };
}

export type CoreSample = { busyTicks: number; totalTicks: number };

/** Busy and total time of one core from /proc/stat, whoever used it. */
export function sampleCore(core: number): CoreSample {
  const line = readFileSync("/proc/stat", "utf8")
    .split("\n")
    .find((candidate) => candidate.startsWith(`cpu${core} `));
  if (!line) return { busyTicks: Number.NaN, totalTicks: Number.NaN };
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((sum, value) => sum + value, 0);
  const idle = ticks[3] + ticks[4];
  return { busyTicks: total - idle, totalTicks: total };
}

/** The share of the time the core was busy between two samples: 1 is always busy. */
export function coreBusyShare(before: CoreSample, after: CoreSample): number {
  const total = after.totalTicks - before.totalTicks;
  return total > 0 ? (after.busyTicks - before.busyTicks) / total : Number.NaN;
}

/**
 * What a target's core did during a measurement: its own share and everyone's. On a shared machine
 * the difference is other processes taking time the target could have used.
 */
export type CoreUse = { targetShare: number; coreBusy: number };

export function describeCoreUse(label: string, uses: CoreUse[]): string {
  const busiest = uses.reduce((best, use) => (use.targetShare > best.targetShare ? use : best), uses[0]);
  const own = Math.round(busiest.targetShare * 100);
  const all = Math.round(busiest.coreBusy * 100);
  const others = Math.max(0, all - own);
  const parts = [`${label} used ${own}% of its core`];
  if (Number.isFinite(all)) parts.push(`core ${all}% busy in all`);
  if (others >= 10) parts.push(`other processes took ${others}%`);
  if (all >= 90 && own >= 90) parts.push("CPU-bound");
  return parts.join(", ");
}

/** Runs `work` and adds what the target and its core used meanwhile. */
export async function withCoreUse<T extends object>(
  pid: number,
  core: number,
  work: () => Promise<T>,
): Promise<T & CoreUse> {
  const cpuBefore = sampleCpu(pid);
  const coreBefore = sampleCore(core);
  const result = await work();
  return {
    ...result,
    targetShare: coreShare(cpuBefore, sampleCpu(pid)),
    coreBusy: coreBusyShare(coreBefore, sampleCore(core)),
  };
}
