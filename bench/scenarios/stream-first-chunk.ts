/**
 * Streams of 20 chunks 10 ms apart over 50 connections (~250 streams/s): the time to the first
 * chunk with text that the service adds, and how much of its core it uses for that traffic.
 */
import { type BenchContext, completionRequest, completionsPath, interleaved } from "../bench-context.ts";
import { buildAddedRow, buildRow, portkeyName, serviceName } from "../build-row.ts";
import { describeCoreUse } from "../process-stats.ts";
import type { ScenarioResult } from "../results.ts";
import { runStreamClient } from "../stream-client.ts";
import { usableCompletionTargets } from "../usable-targets.ts";

const shape = { chunks: 20, intervalMs: 10, firstChunkDelayMs: 0 };

export async function streamFirstChunk(context: BenchContext): Promise<ScenarioResult> {
  const scenario = "stream, 20 chunks 10 ms apart, 50 connections";
  await context.upstream.setShape(shape);
  const body = completionRequest(true, context.requestModel);
  const { usable, missing } = await usableCompletionTargets(
    context,
    [context.upstream, context.service, context.portkey],
    { stream: true },
  );
  context.log(`${scenario}: ${usable.map((target) => target.name).join(", ")}`);
  const results = await interleaved(context.options.rounds, usable, async (target) => {
    // The client reads the target's CPU itself, over its measured loop only: a window drawn from
    // here would include the client's own start-up, when the target idles.
    const result = await runStreamClient({
      url: `${target.origin}${completionsPath}`,
      body,
      headers: target.headers,
      mode: "closed-loop",
      connections: 50,
      durationSeconds: context.options.measureSeconds,
      intervalMs: shape.intervalMs,
      timeoutSeconds: context.options.measureSeconds + 60,
      watch: { pid: target.pid, core: target.core },
    });
    return {
      ...result,
      targetShare: result.watched?.targetShare ?? Number.NaN,
      coreBusy: result.watched?.coreBusy ?? Number.NaN,
    };
  });
  const serviceRounds = results.get(serviceName) ?? [];
  const streamsPerSecond = serviceRounds.map((round) => Math.round(round.streamsPerSecond)).join(", ");
  const failures = serviceRounds.reduce((sum, round) => sum + round.failed + round.stalledStreams, 0);
  const common = {
    scenario,
    results,
    serviceMissing: missing.get(serviceName),
    peers: [portkeyName],
    unit: "ms",
  };
  const rows = [
    buildAddedRow({
      ...common,
      metric: "added time to first chunk p50",
      target: "≤ 1 ms",
      total: (round) => round.timeToFirstContentMs.p50,
      meets: (value) => value <= 1,
    }),
    buildAddedRow({
      ...common,
      metric: "added time to first chunk p99",
      target: "≤ 3 ms",
      total: (round) => round.timeToFirstContentMs.p99,
      meets: (value) => value <= 3,
      note: failures > 0 ? `${failures} failed or stalled streams through the service` : undefined,
    }),
    buildRow({
      ...common,
      metric: "CPU of the target's core",
      unit: "% of a core",
      target: "≤ 25 % at ~200 streams/s",
      pick: (round) => round.targetShare * 100,
      meets: (value) => value <= 25,
      note:
        serviceRounds.length > 0
          ? `at ${streamsPerSecond} streams/s per round; ${describeCoreUse("service", serviceRounds)}`
          : undefined,
    }),
  ];
  return {
    name: scenario,
    rows,
    raw: { results: Object.fromEntries(results), missing: Object.fromEntries(missing) },
  };
}
