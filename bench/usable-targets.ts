import { type BenchContext, completionRequest, completionsPath } from "./bench-context.ts";
import { probeEndpoint } from "./probe-endpoint.ts";
import type { TargetProcess } from "./target-process.ts";

export type UsableTargets = {
  usable: TargetProcess[];
  /** Why each target that failed its probe is left out, by name. */
  missing: Map<string, string>;
};

/** Probes every target once and keeps those that answer the scenario's request as expected. */
export async function usableTargets(
  targets: (TargetProcess | undefined)[],
  path: string,
  body: string,
  expect: "json" | "sse",
): Promise<UsableTargets> {
  const usable: TargetProcess[] = [];
  const missing = new Map<string, string>();
  for (const target of targets) {
    if (!target) continue;
    const probe = await probeEndpoint(target, path, body, expect);
    if (probe.ok) usable.push(target);
    else {
      // A target that died earlier in the run fails every probe; say so rather than "fetch failed".
      const status = target.exitStatus();
      missing.set(target.name, status ? `failed: ${target.name} had exited (${status})` : probe.reason);
    }
  }
  return { usable, missing };
}

/** Probes with the completions request the scenarios send: streamed ones must answer SSE, the others JSON. */
export function usableCompletionTargets(
  context: BenchContext,
  targets: (TargetProcess | undefined)[],
  options: { stream: boolean },
): Promise<UsableTargets> {
  const body = completionRequest(options.stream, context.requestModel);
  return usableTargets(targets, completionsPath, body, options.stream ? "sse" : "json");
}
