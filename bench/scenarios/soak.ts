/**
 * Soak: mixed JSON and streamed traffic at a steady, unsaturated rate (the fake upstream paces it)
 * while the target's RSS is sampled; growth is the least-squares slope after the warm-up.
 * Only the service and the baseline run it: ten minutes is the budget of the whole run.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { type BenchContext, completionRequest, completionsPath } from "../bench-context.ts";
import { buildRow, serviceName } from "../build-row.ts";
import { readRssBytes } from "../process-stats.ts";
import { type ScenarioResult, skippedScenario, unmeasuredRow } from "../results.ts";
import { median, slope } from "../statistics.ts";
import { runStreamClient, type StreamClientResult } from "../stream-client.ts";
import type { TargetProcess } from "../target-process.ts";
import { usableCompletionTargets } from "../usable-targets.ts";
import { runWrk, type WrkResult } from "../wrk.ts";

type RssSample = { seconds: number; rssBytes: number };
/** The service's own `llm_api_event_loop_delay_p99_seconds`, over the window since the last scrape. */
type EventLoopSample = { seconds: number; p99Ms: number };
type Measurement = {
  samples: Record<string, RssSample[]>;
  growthMiBPerMinute: Record<string, number>;
  /** The service's slope over the second half of the soak only. */
  secondHalfGrowthMiBPerMinute?: number;
  warmUpSeconds: number;
  eventLoopDelay: EventLoopSample[];
  json: WrkResult | { skipped: string };
  streams: StreamClientResult | { skipped: string };
};

const mebibyte = 1024 * 1024;

export async function soak(context: BenchContext): Promise<ScenarioResult> {
  const seconds = context.options.soakSeconds;
  const scenario = `soak, ${seconds >= 120 ? `${Math.round(seconds / 60)} min` : `${seconds} s`} of mixed traffic`;
  const { usable: jsonTargets } = await usableCompletionTargets(context, [context.service], {
    stream: false,
  });
  const { usable: streamTargets, missing } = await usableCompletionTargets(context, [context.service], {
    stream: true,
  });
  const service = context.service;
  const serviceMissing =
    jsonTargets.length === 0 && streamTargets.length === 0 ? missing.get(serviceName) : undefined;
  if (serviceMissing) {
    // Ten minutes of an idle service would say nothing about leaks and eat half the run's budget.
    return skippedScenario(scenario, serviceMissing, [
      unmeasuredRow({
        metric: "RSS growth after warm-up",
        unit: "MiB/min",
        baselineName: context.upstream.name,
        target: "≤ 1 MiB/min",
      }),
    ]);
  }
  // 50 ms before every answer: 10 JSON connections make at most ~200 req/s and 50 stream
  // connections ~200 streams/s, a steady load that leaves the service's core headroom.
  await context.upstream.setShape({ chunks: 20, intervalMs: 10, firstChunkDelayMs: 50 });
  context.log(`${scenario}: service`);

  const watched: TargetProcess[] = [service, context.upstream];
  const samples: Record<string, RssSample[]> = Object.fromEntries(watched.map((target) => [target.name, []]));
  const startedAt = performance.now();
  let sampling = true;
  const eventLoopDelay: EventLoopSample[] = [];
  const sampler = (async () => {
    while (sampling) {
      const now = (performance.now() - startedAt) / 1000;
      for (const target of watched)
        samples[target.name].push({ seconds: now, rssBytes: readRssBytes(target.pid) });
      const p99Ms = await readEventLoopDelayP99Ms(service.origin);
      if (p99Ms !== undefined) eventLoopDelay.push({ seconds: now, p99Ms });
      await sleep(Math.min(5000, (seconds * 1000) / 40));
    }
  })();
  const json =
    jsonTargets.length > 0 && context.wrkAvailable
      ? runWrk({
          url: `${service.origin}${completionsPath}`,
          body: completionRequest(false, context.requestModel),
          connections: 10,
          durationSeconds: seconds,
        })
      : Promise.resolve({ skipped: "JSON endpoint missing or wrk not installed" });
  const streams =
    streamTargets.length > 0
      ? runStreamClient({
          url: `${service.origin}${completionsPath}`,
          body: completionRequest(true, context.requestModel),
          mode: "closed-loop",
          connections: 50,
          durationSeconds: seconds,
          intervalMs: 10,
          timeoutSeconds: seconds + 120,
        })
      : sleep(seconds * 1000).then(() => ({ skipped: "stream endpoint missing" }));
  const [jsonResult, streamResult] = await Promise.all([json, streams]);
  sampling = false;
  await sampler;
  await context.upstream.setShape({ chunks: 20, intervalMs: 10, firstChunkDelayMs: 0 });

  // The first minute (a quarter of a short soak) is warm-up: heaps and JIT caches still grow there.
  const warmUpSeconds = Math.min(60, seconds / 4);
  const growthMiBPerMinute: Record<string, number> = {};
  for (const [name, series] of Object.entries(samples)) {
    const points = series
      .filter((sample) => sample.seconds >= warmUpSeconds && Number.isFinite(sample.rssBytes))
      .map((sample) => ({ x: sample.seconds / 60, y: sample.rssBytes / mebibyte }));
    growthMiBPerMinute[name] = slope(points);
  }
  const measurement: Measurement = {
    samples,
    growthMiBPerMinute,
    warmUpSeconds,
    eventLoopDelay,
    json: jsonResult,
    streams: streamResult,
  };
  const traffic: string[] = [];
  if ("requestsPerSecond" in jsonResult)
    traffic.push(`${Math.round(jsonResult.requestsPerSecond)} JSON req/s`);
  if ("streamsPerSecond" in streamResult)
    traffic.push(`${Math.round(streamResult.streamsPerSecond)} streams/s`);
  const serviceSeries = samples[service.name];
  const first = serviceSeries.find((sample) => sample.seconds >= warmUpSeconds) ?? serviceSeries[0];
  const last = serviceSeries[serviceSeries.length - 1];
  traffic.push(
    `service RSS ${(first.rssBytes / mebibyte).toFixed(1)} → ${(last.rssBytes / mebibyte).toFixed(1)} MiB`,
  );
  // A leak keeps its rate to the end; a heap that V8 shrank after the warm-up and is growing back
  // to its working size slows down. The second half's slope tells the two apart.
  const secondHalf = serviceSeries
    .filter((sample) => sample.seconds >= seconds / 2 && Number.isFinite(sample.rssBytes))
    .map((sample) => ({ x: sample.seconds / 60, y: sample.rssBytes / mebibyte }));
  if (secondHalf.length >= 2) {
    const secondHalfGrowth = slope(secondHalf);
    measurement.secondHalfGrowthMiBPerMinute = secondHalfGrowth;
    traffic.push(`${secondHalfGrowth.toFixed(2)} MiB/min over the second half`);
  }
  const results = new Map<string, number[]>(
    Object.entries(growthMiBPerMinute).map(([name, value]) => [name, [value]]),
  );
  const row = buildRow({
    scenario,
    metric: "RSS growth after warm-up",
    unit: "MiB/min",
    target: "≤ 1 MiB/min",
    results,
    pick: (value) => value,
    meets: (value) => value <= 1,
    note: traffic.join(", "),
  });
  // Each scrape reads the p99 of the window since the one before, so the worst window is the figure.
  const windows = eventLoopDelay.filter((sample) => sample.seconds > 0).map((sample) => sample.p99Ms);
  const eventLoopRow = buildRow({
    scenario,
    metric: "event-loop delay p99, worst scrape window",
    unit: "ms",
    target: "≤ 50 ms",
    // The service's own measure of itself: there is nothing to divide it by.
    baselineName: "—",
    results: new Map([[service.name, windows.length > 0 ? [Math.max(...windows)] : []]]),
    pick: (value) => value,
    meets: (value) => value <= 50,
    note:
      windows.length > 0
        ? `${windows.length} windows of ~${Math.round(Math.min(5000, (seconds * 1000) / 40) / 1000)} s, median ${median(windows).toFixed(2)} ms (llm_api_event_loop_delay_p99_seconds)`
        : "the service exposed no llm_api_event_loop_delay_p99_seconds",
  });
  return { name: scenario, rows: [row, eventLoopRow], raw: measurement };
}

async function readEventLoopDelayP99Ms(origin: string): Promise<number | undefined> {
  try {
    const response = await fetch(`${origin}/metrics`, { signal: AbortSignal.timeout(2000) });
    const match = /^llm_api_event_loop_delay_p99_seconds (\S+)$/m.exec(await response.text());
    return match === null ? undefined : Number(match[1]) * 1000;
  } catch {
    return undefined;
  }
}
