/**
 * What authentication plus rate limiting costs per request: `POST /chat` on the echo model (so the
 * model costs next to nothing) against the open service, with a virtual key whose rpm, tpm and
 * max_parallel are set far above the load, its limits counted in process, and on Redis. The three
 * service processes run on the service's core in turn, in the same run.
 */
import { type BenchContext, interleaved } from "../bench-context.ts";
import { buildRow, serviceName } from "../build-row.ts";
import { measureWithWrk, type WrkMeasurement } from "../measure-with-wrk.ts";
import { describeCoreUse } from "../process-stats.ts";
import { type ScenarioResult, skippedScenario, unmeasuredRow } from "../results.ts";
import { median } from "../statistics.ts";
import type { TargetProcess } from "../target-process.ts";
import { wrkMissingMessage } from "../wrk.ts";
import { chatPath, chatRequest } from "./echo-chat.ts";

export const openServiceName = "service, open (no keys)";
export const redisLimitsName = "service, virtual key, limits on Redis";
/** The admin key of the keyed service processes; they run on 127.0.0.1 only, for the bench. */
export const benchAdminKey = "bench-admin-key-0123456789";

/** Limits no bench load reaches, so every request is checked and none refused. */
const UNREACHED_LIMITS = { rpm: 100_000_000, tpm: 1_000_000_000, max_parallel: 100_000 };

/** A new virtual key with limits no bench load reaches, made through the admin API at `origin`. */
export async function createBenchKey(origin: string): Promise<string> {
  const response = await fetch(`${origin}/admin/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${benchAdminKey}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "bench", ...UNREACHED_LIMITS }),
  });
  if (response.status !== 201)
    throw new Error(`creating the bench key: ${response.status} ${await response.text()}`);
  const { key } = (await response.json()) as { key: string };
  return key;
}

/** A virtual key on `target`, made through its admin API; the target's requests then carry it. */
export async function withVirtualKey(target: TargetProcess): Promise<TargetProcess> {
  const key = await createBenchKey(target.origin);
  return { ...target, headers: { ...target.headers, authorization: `Bearer ${key}` } };
}

/**
 * The median of the service's CPU time per request over the rounds. Time the host gives other
 * guests cuts a round's throughput but is not the service's CPU time, so this shows what the
 * checks cost when the throughput ratio is blurred; it found a change that cost every header
 * Node's fast path.
 */
function cpuPerRequest(rounds: readonly WrkMeasurement[]): string {
  const perRequest = rounds
    .filter((round) => round.requests > 0)
    .map((round) => (round.targetShare * round.durationSeconds * 1e6) / round.requests);
  return perRequest.length === 0 ? "—" : median(perRequest).toFixed(0);
}

/**
 * How many processes each configuration runs in. One process's JIT state alone moves its
 * throughput by ~7 %: in some processes, open and keyed alike, V8 builds `process.nextTick`'s tick
 * objects in its runtime (`DefineKeyedOwnPropertyInLiteral`, `MigrateToMap` in `perf`), 1.0-1.9 µs
 * of runtime a request, and ~4.5 µs of CPU in all in one such process beside one without. In
 * others it never happens. On 2026-12-03 it held in 11 of 14 processes started, of both
 * configurations. A run with one process per configuration compared those states as much as the
 * checks; the rounds turn through the processes instead, and five of each make it less likely
 * that one configuration drew more of the slow ones than another.
 */
export const ACCESS_PROCESSES = 5;

/** Every process of one configuration, all under one name: their rounds count as one target's. */
export type AccessTargets = {
  open: readonly TargetProcess[];
  inProcess: readonly TargetProcess[];
  onRedis: readonly TargetProcess[] | undefined;
};

export async function accessCost(
  context: BenchContext,
  targets: AccessTargets,
  redisMissing: string | undefined,
  /** Which Redis the limits are counted on, for the row's note. */
  redisWhere?: string,
): Promise<ScenarioResult> {
  const scenario = "auth + rate limits, /chat on the echo model, 50 connections";
  const rows = [
    { metric: "throughput, limits in process", target: "≥ 0.9x" },
    { metric: "throughput, limits on Redis", target: "≥ 0.75x" },
  ];
  if (!context.wrkAvailable) {
    return skippedScenario(
      scenario,
      wrkMissingMessage,
      rows.map((row) => unmeasuredRow({ ...row, unit: "req/s", baselineName: openServiceName })),
    );
  }
  const configurations = [targets.inProcess, ...(targets.onRedis ? [targets.onRedis] : []), targets.open];
  const processesOf = new Map(configurations.map((processes) => [processes[0].name, processes]));
  context.log(
    `${scenario}: ${configurations.map((processes) => `${processes[0].name} (${processes.length} processes)`).join(", ")}`,
  );
  // Round r of a configuration runs on its process r mod N.
  const results = await interleaved(
    context.options.rounds,
    configurations.map((processes) => processes[0]),
    (first, round) => {
      const processes = processesOf.get(first.name) ?? [first];
      return measureWithWrk(processes[round % processes.length], {
        path: chatPath,
        body: chatRequest,
        connections: 50,
        durationSeconds: context.options.measureSeconds,
      });
    },
  );
  const openCpuPerRequest = cpuPerRequest(results.get(openServiceName) ?? []);
  const noteFor = (rounds: WrkMeasurement[] | undefined, where?: string): string | undefined => {
    if (!rounds || rounds.length === 0) return undefined;
    const notes = [
      `${rounds.length} rounds over ${ACCESS_PROCESSES} processes`,
      describeCoreUse("service", rounds),
      `${cpuPerRequest(rounds)} µs of CPU a request, the open service ${openCpuPerRequest}`,
      ...(where === undefined ? [] : [where]),
    ];
    const errors = rounds.reduce((sum, round) => sum + round.errors, 0);
    // A refused request (401, 429) is an error here: the limits must never be reached.
    if (errors > 0) notes.push(`${errors} wrk errors (non-2xx answers included)`);
    return notes.join("; ");
  };
  // buildRow compares the row's `service` with its baseline: give each row its own service.
  const asService = (name: string) =>
    new Map<string, WrkMeasurement[]>([
      [serviceName, results.get(name) ?? []],
      [openServiceName, results.get(openServiceName) ?? []],
    ]);
  return {
    name: scenario,
    rows: [
      buildRow({
        scenario,
        metric: rows[0].metric,
        unit: "req/s",
        target: rows[0].target,
        results: asService(targets.inProcess[0].name),
        baselineName: openServiceName,
        pick: (round) => round.requestsPerSecond,
        meets: (_value, ratio) => ratio !== null && ratio >= 0.9,
        note: noteFor(results.get(targets.inProcess[0].name)),
      }),
      buildRow({
        scenario,
        metric: rows[1].metric,
        unit: "req/s",
        target: rows[1].target,
        results: asService(redisLimitsName),
        baselineName: openServiceName,
        serviceMissing: redisMissing,
        pick: (round) => round.requestsPerSecond,
        meets: (_value, ratio) => ratio !== null && ratio >= 0.75,
        note: noteFor(results.get(redisLimitsName), redisWhere),
      }),
    ],
    raw: { results: Object.fromEntries(results) },
  };
}
