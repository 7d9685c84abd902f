/**
 * Non-stream `POST /v1/chat/completions` with wrk: throughput at 50 connections, and the latency
 * the service adds at 1 connection (through the service minus straight to the fake upstream,
 * same round), each next to the bare relay: what relaying alone costs on the same core.
 */
import { type BenchContext, completionRequest, completionsPath, interleaved } from "../bench-context.ts";
import {
  bareName,
  bareRelayName,
  buildAddedRow,
  buildRow,
  portkeyName,
  serviceName,
  upstreamName,
} from "../build-row.ts";
import { measureWithWrk, type WrkMeasurement } from "../measure-with-wrk.ts";
import { describeCoreUse } from "../process-stats.ts";
import { type ScenarioResult, skippedScenario, unmeasuredRow } from "../results.ts";
import type { TargetProcess } from "../target-process.ts";
import { usableCompletionTargets } from "../usable-targets.ts";
import { wrkMissingMessage } from "../wrk.ts";

function measureWith(
  context: BenchContext,
  target: TargetProcess,
  connections: number,
): Promise<WrkMeasurement> {
  return measureWithWrk(target, {
    path: completionsPath,
    body: completionRequest(false, context.requestModel),
    connections,
    durationSeconds: context.options.measureSeconds,
  });
}

/** Notes what the rounds show about the limit: a saturated or shared core, or errors under load. */
function limitNote(results: Map<string, WrkMeasurement[]>): string | undefined {
  const rounds = results.get(serviceName);
  if (!rounds || rounds.length === 0) return undefined;
  const notes = [describeCoreUse("service", rounds)];
  const errors = rounds.reduce((sum, round) => sum + round.errors, 0);
  if (errors > 0) notes.push(`${errors} wrk errors (non-2xx, timeouts)`);
  return notes.join("; ");
}

export async function nonStreamThroughput(context: BenchContext): Promise<ScenarioResult> {
  const scenario = "non-stream, 50 connections";
  if (!context.wrkAvailable) {
    return skippedScenario(scenario, wrkMissingMessage, [
      unmeasuredRow({ metric: "throughput", unit: "req/s", baselineName: upstreamName, target: "≥ 0.30x" }),
    ]);
  }
  await context.upstream.setShape({ chunks: 20, intervalMs: 10, firstChunkDelayMs: 0 });
  const { usable, missing } = await usableCompletionTargets(
    context,
    [context.upstream, context.service, context.bare, context.bareRelay, context.portkey],
    { stream: false },
  );
  context.log(`${scenario}: ${usable.map((target) => target.name).join(", ")}`);
  const results = await interleaved(context.options.rounds, usable, (target) =>
    measureWith(context, target, 50),
  );
  const common = {
    scenario,
    results,
    serviceMissing: missing.get(serviceName),
    peers: [bareName, bareRelayName, portkeyName],
  };
  return {
    name: scenario,
    rows: [
      buildRow({
        ...common,
        metric: "throughput",
        unit: "req/s",
        target: "≥ 0.30x",
        pick: (round) => round.requestsPerSecond,
        meets: (_value, ratio) => ratio !== null && ratio >= 0.3,
        note: limitNote(results),
      }),
      buildRow({
        ...common,
        metric: "latency p50",
        unit: "ms",
        target: "—",
        pick: (round) => round.latencyMs.p50,
      }),
      buildRow({
        ...common,
        metric: "latency p99",
        unit: "ms",
        target: "—",
        pick: (round) => round.latencyMs.p99,
      }),
    ],
    raw: { results: Object.fromEntries(results), missing: Object.fromEntries(missing) },
  };
}

export async function nonStreamAddedLatency(context: BenchContext): Promise<ScenarioResult> {
  const scenario = "non-stream, 1 connection";
  if (!context.wrkAvailable) {
    return skippedScenario(scenario, wrkMissingMessage, [
      unmeasuredRow({
        metric: "added latency p50",
        unit: "ms",
        baselineName: upstreamName,
        target: "≤ 0.3 ms",
      }),
      unmeasuredRow({
        metric: "added latency p99",
        unit: "ms",
        baselineName: upstreamName,
        target: "≤ 1 ms",
      }),
    ]);
  }
  await context.upstream.setShape({ chunks: 20, intervalMs: 10, firstChunkDelayMs: 0 });
  const { usable, missing } = await usableCompletionTargets(
    context,
    [context.upstream, context.service, context.bareRelay, context.portkey],
    { stream: false },
  );
  context.log(`${scenario}: ${usable.map((target) => target.name).join(", ")}`);
  const results = await interleaved(context.options.rounds, usable, (target) =>
    measureWith(context, target, 1),
  );
  const common = {
    scenario,
    results,
    serviceMissing: missing.get(serviceName),
    // The bare relay's added figure is the floor any relay shows on this machine.
    peers: [bareRelayName, portkeyName],
    unit: "ms",
  };
  const rows = [
    buildAddedRow({
      ...common,
      metric: "added latency p50",
      target: "≤ 0.3 ms",
      total: (round) => round.latencyMs.p50,
      meets: (value) => value <= 0.3,
    }),
    buildAddedRow({
      ...common,
      metric: "added latency p99",
      target: "≤ 1 ms",
      total: (round) => round.latencyMs.p99,
      meets: (value) => value <= 1,
    }),
  ];
  return {
    name: scenario,
    rows,
    raw: { results: Object.fromEntries(results), missing: Object.fromEntries(missing) },
  };
}
