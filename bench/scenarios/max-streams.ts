/**
 * The most concurrent streams of 64 chunks 20 ms apart with no chunk delayed by more than 10x the
 * interval. Each step opens N streams at once; a target drops out at its first step with a stalled,
 * failed or unfinished stream. The baseline runs the same ramp, so a load core that cannot keep up
 * shows as the baseline failing too.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { type BenchContext, completionRequest, completionsPath } from "../bench-context.ts";
import { buildRow, portkeyName, serviceName, upstreamName } from "../build-row.ts";
import type { ScenarioResult } from "../results.ts";
import { runStreamClient, type StreamClientResult } from "../stream-client.ts";
import type { TargetProcess } from "../target-process.ts";
import { usableCompletionTargets } from "../usable-targets.ts";

const shape = { chunks: 64, intervalMs: 20, firstChunkDelayMs: 0 };

type Step = { streams: number; held: boolean; result: StreamClientResult };
type RoundOutcome = { highestHeld: number; firstFailure: Step | undefined; steps: Step[] };

/** No failed or stalled stream, and (nearly) all N really were open at the same time. */
function held(result: StreamClientResult, streams: number): boolean {
  return (
    result.completed === streams &&
    result.failed === 0 &&
    result.stalledStreams === 0 &&
    result.peakActiveStreams >= 0.9 * streams
  );
}

function failureText(step: Step): string {
  const result = step.result;
  const parts = [`${result.stalledStreams} stalled`, `${result.failed} failed`];
  const reasons = Object.entries(result.failures).map(([reason, count]) => `${reason} x${count}`);
  if (reasons.length > 0) parts.push(reasons.join(", "));
  parts.push(`max gap ${Math.round(result.chunkGapMs.max)} ms`, `${result.peakActiveStreams} open at once`);
  return `${step.streams} streams: ${parts.join(", ")}`;
}

export async function maxConcurrentStreams(context: BenchContext): Promise<ScenarioResult> {
  const scenario = "stream, 64 chunks 20 ms apart";
  await context.upstream.setShape(shape);
  const body = completionRequest(true, context.requestModel);
  const { usable, missing } = await usableCompletionTargets(
    context,
    [context.upstream, context.service, context.portkey],
    { stream: true },
  );
  // A stream through a proxy holds two descriptors there (client and upstream side).
  const descriptorCap = Math.floor((context.openFileLimit - 200) / 2);
  const ramp = context.options.streamRamp.filter((streams) => streams <= descriptorCap);
  const cappedBy =
    ramp.length < context.options.streamRamp.length
      ? `open-file limit ${context.openFileLimit} caps the ramp at ${descriptorCap} streams`
      : undefined;
  context.log(`${scenario}: ramp ${ramp.join(", ")} on ${usable.map((target) => target.name).join(", ")}`);

  const outcomes = new Map<string, RoundOutcome[]>(usable.map((target) => [target.name, []]));
  for (let round = 0; round < context.options.rounds; round++) {
    const current = new Map<string, RoundOutcome>(
      usable.map((target) => [target.name, { highestHeld: 0, firstFailure: undefined, steps: [] }]),
    );
    let active: TargetProcess[] = [...usable];
    // Interleaved by step: every target still standing tries N before anyone tries the next N.
    for (const streams of ramp) {
      for (const target of active) {
        const result = await runStreamClient({
          url: `${target.origin}${completionsPath}`,
          body,
          headers: target.headers,
          mode: "burst",
          streams,
          intervalMs: shape.intervalMs,
          // A 1.3 s stream not done in 30 s has failed; waiting longer only spends the run's budget.
          timeoutSeconds: 30,
        });
        const outcome = current.get(target.name)!;
        const step = { streams, held: held(result, streams), result };
        outcome.steps.push(step);
        if (step.held) outcome.highestHeld = streams;
        else outcome.firstFailure ??= step;
        // Let sockets close and the targets collect garbage before the next burst.
        await sleep(1000);
      }
      active = active.filter((target) => current.get(target.name)?.firstFailure === undefined);
      if (active.length === 0) break;
    }
    for (const [name, outcome] of current) outcomes.get(name)?.push(outcome);
  }

  const notes: string[] = [];
  const upstreamFailure = outcomes.get(upstreamName)?.find((outcome) => outcome.firstFailure)?.firstFailure;
  if (upstreamFailure) {
    notes.push(
      `the baseline itself (fake upstream and client sharing the load core) failed at ${failureText(upstreamFailure)}: the load core limits this scenario`,
    );
  }
  const serviceFailure = outcomes.get(serviceName)?.find((outcome) => outcome.firstFailure)?.firstFailure;
  if (serviceFailure) notes.push(`service failed at ${failureText(serviceFailure)}`);
  if (cappedBy) notes.push(cappedBy);
  const topOfRamp = ramp[ramp.length - 1];
  const serviceOutcomes = outcomes.get(serviceName) ?? [];
  if (serviceOutcomes.length > 0 && serviceOutcomes.every((outcome) => outcome.highestHeld === topOfRamp)) {
    notes.push(`held the top of the ramp (${topOfRamp}); the true limit is higher`);
  }

  const row = buildRow({
    scenario,
    metric: "most concurrent streams, no stalled chunk (worst round)",
    unit: "streams",
    target: "≥ 5,000",
    results: outcomes,
    pick: (outcome) => outcome.highestHeld,
    aggregate: "min",
    meets: (value) => value >= 5000,
    peers: [portkeyName],
    serviceMissing: missing.get(serviceName),
    note: notes.length > 0 ? notes.join("; ") : undefined,
  });
  const raw = Object.fromEntries(
    [...outcomes].map(([name, rounds]) => [
      name,
      rounds.map((outcome) => ({
        highestHeld: outcome.highestHeld,
        steps: outcome.steps.map((step) => ({ streams: step.streams, held: step.held, ...step.result })),
      })),
    ]),
  );
  return {
    name: scenario,
    rows: [row],
    raw: { ramp, cappedBy, results: raw, missing: Object.fromEntries(missing) },
  };
}
