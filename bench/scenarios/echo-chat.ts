/**
 * `POST /chat` on the built-in echo model against a bare Fastify route that returns the very body
 * the service answered: what the service's own layers (validation, request ids, logging hooks,
 * metrics, the model layer) cost next to Fastify alone. Both run on the service's core in turn.
 */
import { type BenchContext, interleaved } from "../bench-context.ts";
import { bareName, buildRow, serviceName, serviceWithoutLogLinesName } from "../build-row.ts";
import { measureWithWrk } from "../measure-with-wrk.ts";
import { describeCoreUse } from "../process-stats.ts";
import { type ScenarioResult, skippedScenario, unmeasuredRow } from "../results.ts";
import type { TargetProcess } from "../target-process.ts";
import { wrkMissingMessage } from "../wrk.ts";

export const chatPath = "/chat";
export const chatRequest = JSON.stringify({ message: "Hello from the benchmark" });

export async function echoChat(
  context: BenchContext,
  serviceMissing: string | undefined,
  /** The service at LOG_LEVEL=warn, a peer: what the per-request log lines cost. */
  serviceWithoutLogLines?: TargetProcess,
): Promise<ScenarioResult> {
  const scenario = "/chat on the echo model, 50 connections";
  if (!context.wrkAvailable) {
    return skippedScenario(scenario, wrkMissingMessage, [
      unmeasuredRow({ metric: "throughput", unit: "req/s", baselineName: bareName, target: "≥ 0.5x" }),
    ]);
  }
  const targets: TargetProcess[] = serviceMissing
    ? [context.bare]
    : [context.service, ...(serviceWithoutLogLines ? [serviceWithoutLogLines] : []), context.bare];
  context.log(`${scenario}: ${targets.map((target) => target.name).join(", ")}`);
  const results = await interleaved(context.options.rounds, targets, (target) =>
    measureWithWrk(target, {
      path: chatPath,
      body: chatRequest,
      connections: 50,
      durationSeconds: context.options.measureSeconds,
    }),
  );
  const serviceRounds = results.get(serviceName) ?? [];
  const notes: string[] = [];
  if (serviceRounds.length > 0) {
    notes.push(describeCoreUse("service", serviceRounds));
    const errors = serviceRounds.reduce((sum, round) => sum + round.errors, 0);
    if (errors > 0) notes.push(`${errors} wrk errors`);
  }
  const common = {
    scenario,
    results,
    baselineName: bareName,
    serviceMissing,
    peers: [serviceWithoutLogLinesName],
  };
  return {
    name: scenario,
    rows: [
      buildRow({
        ...common,
        metric: "throughput",
        unit: "req/s",
        target: "≥ 0.5x",
        pick: (round) => round.requestsPerSecond,
        meets: (_value, ratio) => ratio !== null && ratio >= 0.5,
        note: notes.length > 0 ? notes.join("; ") : undefined,
      }),
      buildRow({
        ...common,
        metric: "latency p99",
        unit: "ms",
        target: "—",
        pick: (round) => round.latencyMs.p99,
      }),
    ],
    raw: { results: Object.fromEntries(results) },
  };
}
