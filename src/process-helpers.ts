import { existsSync, readFileSync } from "node:fs";
import { parseEnv } from "node:util";
import type { Logger } from "pino";
import { ConfigError } from "./config.ts";

/** `.env` fills in what the real environment leaves unset; the environment always wins. */
export function readEnvironment(): Record<string, string | undefined> {
  const fromFile = existsSync(".env") ? parseEnv(readFileSync(".env", "utf8")) : {};
  return { ...fromFile, ...process.env };
}

/**
 * Runs a process's start-up; bad configuration ends the process with one line naming the
 * variable (exit 1) instead of a stack trace. Any other failure is rethrown.
 */
export async function startOrExitOnConfigError<T>(start: () => T | Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

/** Log lines are written asynchronously; the last ones (why and how we stopped) must not be lost. */
export function exitAfterFlushingLogs(logger: Logger, code: number): void {
  const exit = () => process.exit(code);
  const timer = setTimeout(exit, 1000);
  timer.unref();
  logger.flush(() => {
    clearTimeout(timer);
    exit();
  });
}
