/**
 * Memory per idle stream: N streams held open while the fake upstream waits minutes before its
 * first chunk; the target's RSS delta divided by N. Once the clients leave, the fake upstream's
 * open-stream count shows whether the target also let go of its upstream requests.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { type BenchContext, completionRequest, completionsPath, interleaved } from "../bench-context.ts";
import { buildRow, portkeyName, serviceName } from "../build-row.ts";
import { readRssBytes } from "../process-stats.ts";
import type { ScenarioResult } from "../results.ts";
import { holdStreams } from "../stream-client.ts";
import type { TargetProcess } from "../target-process.ts";
import { usableCompletionTargets } from "../usable-targets.ts";

type Measurement = {
  streams: number;
  reachedUpstream: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  bytesPerStream: number;
  /** Upstream streams still open 5 s after every client disconnected. */
  upstreamLeftOpen: number;
};

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await check()) return true;
    await sleep(200);
  }
  return check();
}

async function measure(context: BenchContext, target: TargetProcess): Promise<Measurement> {
  const streams = context.options.idleStreams;
  const upstream = context.upstream;
  // A clean slate: streams another target left open must not count as this target's.
  await upstream.closeStreams();
  const openBefore = await upstream.openStreams();
  await sleep(1000);
  const rssBeforeBytes = readRssBytes(target.pid);
  const held = holdStreams({
    url: `${target.origin}${completionsPath}`,
    body: completionRequest(true, context.requestModel),
    headers: target.headers,
    mode: "hold",
    streams,
    intervalMs: 20,
    timeoutSeconds: 600,
  });
  await held.opened;
  // Every stream has reached the upstream only once the target has taken it all the way through.
  await waitFor(async () => (await upstream.openStreams()) - openBefore >= streams, 30_000);
  const reachedUpstream = (await upstream.openStreams()) - openBefore;
  await sleep(2000);
  const rssAfterBytes = readRssBytes(target.pid);
  await held.release();
  await waitFor(async () => (await upstream.openStreams()) <= openBefore, 5000);
  const upstreamLeftOpen = (await upstream.openStreams()) - openBefore;
  await upstream.closeStreams();
  return {
    streams,
    reachedUpstream,
    rssBeforeBytes,
    rssAfterBytes,
    bytesPerStream: (rssAfterBytes - rssBeforeBytes) / streams,
    upstreamLeftOpen,
  };
}

export async function idleStreamMemory(context: BenchContext): Promise<ScenarioResult> {
  const scenario = "idle streams";
  const { usable, missing } = await usableCompletionTargets(
    context,
    [context.upstream, context.service, context.portkey],
    { stream: true },
  );
  // Probed with quick streams; then every first chunk waits ten minutes, so the streams stay idle.
  await context.upstream.setShape({ chunks: 1, intervalMs: 20, firstChunkDelayMs: 600_000 });
  context.log(
    `${scenario}: ${context.options.idleStreams} streams on ${usable.map((target) => target.name).join(", ")}`,
  );
  const results = await interleaved(context.options.rounds, usable, (target) => measure(context, target));
  await context.upstream.setShape({ chunks: 20, intervalMs: 10, firstChunkDelayMs: 0 });

  const notes: string[] = [];
  const serviceRounds = results.get(serviceName) ?? [];
  const shortfall = Math.min(...serviceRounds.map((round) => round.reachedUpstream));
  if (serviceRounds.length > 0 && shortfall < context.options.idleStreams) {
    notes.push(`only ${shortfall} of ${context.options.idleStreams} streams reached the upstream`);
  }
  const leftOpen = Math.max(0, ...serviceRounds.map((round) => round.upstreamLeftOpen));
  if (leftOpen > 0) notes.push(`${leftOpen} upstream requests still open 5 s after their clients left`);
  const row = buildRow({
    scenario,
    metric: `memory per open stream (${context.options.idleStreams} streams)`,
    unit: "KB",
    target: "≤ 50 KB",
    results,
    pick: (round) => round.bytesPerStream / 1024,
    meets: (value) => value <= 50,
    peers: [portkeyName],
    serviceMissing: missing.get(serviceName),
    note: notes.length > 0 ? notes.join("; ") : undefined,
  });
  // A plain node:http server's per-stream RSS can be smaller than what RSS resolves at this many
  // streams (page-sized steps, heap slack); a ratio to it would be noise, so none is given.
  if (row.baseline !== null && row.baseline < 1) {
    row.ratio = null;
    for (const peer of row.peers) peer.ratio = null;
    row.note = [row.note, `baseline ${row.baseline.toFixed(2)} KB/stream is below RSS resolution: no ratio`]
      .filter(Boolean)
      .join("; ");
  }
  return {
    name: scenario,
    rows: [row],
    raw: { results: Object.fromEntries(results), missing: Object.fromEntries(missing) },
  };
}
