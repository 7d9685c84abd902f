import os from "node:os";

export type Command = { file: string; args: string[] };

/** The core the service runs alone on, and the one everything else (load, fake upstream) shares. */
export const serviceCore = 0;
export const loadCore = 1;

/** Pinning needs two cores and `taskset`; without them the run still works, unpinned, and says so. */
export const canPin = os.cpus().length >= 2;

/**
 * Runs `file args` on one core with the open-file limit raised to its hard limit: thousands of
 * streams need a descriptor each, and a child cannot raise its own limit from Node.
 */
export function pinnedCommand(core: number, file: string, args: string[]): Command {
  const script = 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"';
  const pinned = canPin ? ["taskset", "-c", String(core), file, ...args] : [file, ...args];
  return { file: "/bin/sh", args: ["-c", script, "sh", ...pinned] };
}
