import { execFileSync } from "node:child_process";
import os from "node:os";
import { canPin } from "./pinned-command.ts";
import { openFileLimits } from "./process-stats.ts";
import { wrkVersion } from "./wrk.ts";

function git(args: string[], cwd: string): string | undefined {
  try {
    return execFileSync("git", args, { cwd, encoding: "utf8" }).trim();
  } catch {
    return undefined;
  }
}

/** What the figures were measured on: a ratio is only comparable with the machine beside it. */
export function machineInfo(repositoryRoot: string): Record<string, unknown> {
  const limits = openFileLimits();
  return {
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    // Not availableParallelism(): the orchestrator has pinned itself to one core by now.
    cores: os.cpus().length,
    pinned: canPin,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    wrk: wrkVersion(),
    openFileLimit: limits.hard,
    memoryBytes: os.totalmem(),
    loadAverageAtStart: os
      .loadavg()
      .map((value) => value.toFixed(2))
      .join(" "),
    gitCommit: git(["rev-parse", "HEAD"], repositoryRoot),
    gitBranch: git(["rev-parse", "--abbrev-ref", "HEAD"], repositoryRoot),
    gitDirty: (git(["status", "--porcelain", "--untracked-files=no"], repositoryRoot) ?? "") !== "",
  };
}
