import { type CoreUse, withCoreUse } from "./process-stats.ts";
import type { TargetProcess } from "./target-process.ts";
import { runWrk, type WrkResult } from "./wrk.ts";

export type WrkMeasurement = WrkResult & CoreUse;

export type MeasureWithWrkOptions = {
  path: string;
  body: string;
  connections: number;
  durationSeconds: number;
};

/** One wrk run against a target, with what the target and its core used meanwhile. */
export function measureWithWrk(
  target: TargetProcess,
  options: MeasureWithWrkOptions,
): Promise<WrkMeasurement> {
  return withCoreUse(target.pid, target.core, () =>
    runWrk({
      url: `${target.origin}${options.path}`,
      body: options.body,
      headers: target.headers,
      connections: options.connections,
      durationSeconds: options.durationSeconds,
    }),
  );
}
