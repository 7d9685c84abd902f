/**
 * What routing costs: non-stream `POST /v1/chat/completions` at 1 connection (added latency over
 * the fake upstream, same round) and at 50 (throughput), through a service whose models file gives
 * the model three deployments, next to one whose models file gives it one. Both route; the
 * difference is choosing among three (weights, health, caps) instead of taking the only one.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import {
  type BenchContext,
  completionRequest,
  completionsPath,
  interleaved,
  upstreamModel,
} from "../bench-context.ts";
import { buildAddedRow, buildRow, serviceName, upstreamName } from "../build-row.ts";
import { measureWithWrk, type WrkMeasurement } from "../measure-with-wrk.ts";
import { describeCoreUse } from "../process-stats.ts";
import { type ScenarioResult, skippedScenario, unmeasuredRow } from "../results.ts";
import type { TargetProcess } from "../target-process.ts";
import { usableCompletionTargets } from "../usable-targets.ts";
import { wrkMissingMessage } from "../wrk.ts";

export const oneDeploymentName = "service, 1 deployment";

/**
 * A models file whose one model, named as the completions requests name it, has `count`
 * deployments on the fake upstream (each its own deployment with its own health and caps; the
 * connection pool of their shared origin is shared, as for any deployments of one host).
 */
export function writeBenchModelsFile(directory: string, context: BenchContext, count: number): string {
  const file = path.join(directory, `models-${count}.yaml`);
  const deployments = Array.from(
    { length: count },
    (_, index) =>
      `      - { id: d${index}, provider: openai, model: ${upstreamModel}, base_url: "${context.upstream.origin}/v1", api_key: bench, max_concurrency: 100000, rpm: 100000000 }`,
  );
  writeFileSync(
    file,
    `models:\n  - name: ${JSON.stringify(context.requestModel)}\n    deployments:\n${deployments.join("\n")}\n`,
  );
  return file;
}

export async function routingOverhead(
  context: BenchContext,
  threeDeployments: TargetProcess,
  oneDeployment: TargetProcess,
): Promise<ScenarioResult> {
  const scenario = "routing: 3 deployments vs 1, non-stream";
  if (!context.wrkAvailable) {
    return skippedScenario(scenario, wrkMissingMessage, [
      unmeasuredRow({ metric: "added latency p50", unit: "ms", baselineName: upstreamName, target: "—" }),
    ]);
  }
  await context.upstream.setShape({ chunks: 20, intervalMs: 10, firstChunkDelayMs: 0 });
  const { usable, missing } = await usableCompletionTargets(
    context,
    [context.upstream, threeDeployments, oneDeployment],
    { stream: false },
  );
  context.log(`${scenario}: ${usable.map((target) => target.name).join(", ")}`);
  const measure = (connections: number) => (target: TargetProcess) =>
    measureWithWrk(target, {
      path: completionsPath,
      body: completionRequest(false, context.requestModel),
      connections,
      durationSeconds: context.options.measureSeconds,
    });
  const latency = await interleaved(context.options.rounds, usable, measure(1));
  const throughput = await interleaved(context.options.rounds, usable, measure(50));
  const common = {
    scenario,
    serviceMissing: missing.get(serviceName),
    peers: [oneDeploymentName],
    unit: "ms",
    target: "—",
  };
  const errors = (results: Map<string, WrkMeasurement[]>) =>
    [...results.values()].flat().reduce((sum, round) => sum + round.errors, 0);
  const serviceRounds = throughput.get(serviceName) ?? [];
  const notes = [
    serviceRounds.length > 0 ? describeCoreUse("service", serviceRounds) : undefined,
    errors(latency) + errors(throughput) > 0
      ? `${errors(latency) + errors(throughput)} wrk errors`
      : undefined,
  ].filter((note): note is string => note !== undefined);
  return {
    name: scenario,
    rows: [
      buildAddedRow({
        ...common,
        results: latency,
        metric: "added latency p50, 1 connection",
        total: (round) => round.latencyMs.p50,
      }),
      buildAddedRow({
        ...common,
        results: latency,
        metric: "added latency p99, 1 connection",
        total: (round) => round.latencyMs.p99,
      }),
      buildRow({
        ...common,
        results: throughput,
        metric: "throughput, 50 connections",
        unit: "req/s",
        pick: (round) => round.requestsPerSecond,
        note: notes.length > 0 ? notes.join("; ") : undefined,
      }),
    ],
    raw: {
      latency: Object.fromEntries(latency),
      throughput: Object.fromEntries(throughput),
      missing: Object.fromEntries(missing),
    },
  };
}
