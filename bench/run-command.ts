import { spawn } from "node:child_process";
import type { Command } from "./pinned-command.ts";

export type CommandResult = { code: number | null; stdout: string; stderr: string; timedOut: boolean };

/** Runs a command to its end (or kills it after `timeoutMs`) and keeps what it printed. */
export function runCommand(
  command: Command,
  options: { timeoutMs: number; environment?: NodeJS.ProcessEnv; cwd?: string },
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command.file, command.args, {
      env: options.environment ?? process.env,
      cwd: options.cwd,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.setEncoding("utf8").on("data", (part: string) => {
      stdout += part;
    });
    child.stderr.setEncoding("utf8").on("data", (part: string) => {
      stderr += part;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, options.timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

/** The JSON object on the last line of a child's output that holds one: how children report results. */
export function lastJsonLine(output: string): unknown {
  const lines = output.trim().split("\n").reverse();
  for (const line of lines) {
    const trimmed = line.trim();
    if (!trimmed.startsWith("{")) continue;
    try {
      return JSON.parse(trimmed) as unknown;
    } catch {}
  }
  return undefined;
}
