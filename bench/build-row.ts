import { finiteOrNull, type PeerFigure, type Row, ratioOf } from "./results.ts";
import { median } from "./statistics.ts";

export const upstreamName = "fake upstream";
export const serviceName = "service";
export const bareName = "bare Fastify";
export const bareRelayName = "bare relay";
export const portkeyName = "Portkey";
/** The same service at LOG_LEVEL=warn: what its two log lines per request cost, measured. */
export const serviceWithoutLogLinesName = "service at LOG_LEVEL=warn";

export type RowOptions<T> = {
  scenario: string;
  metric: string;
  unit: string;
  target: string;
  /** Per-round measurements by target name. */
  results: Map<string, T[]>;
  /** The figure of one round; `round` lets an "added" figure subtract the baseline's same round. */
  pick: (measurement: T, round: number) => number;
  /** Whether the service meets the target, from its figure and its ratio to the baseline. */
  meets?: (value: number, ratio: number | null) => boolean;
  /** Median by default; "min" for "held in every round" figures such as the most concurrent streams. */
  aggregate?: "median" | "min";
  baselineName?: string;
  peers?: string[];
  /** Why the service has no figure (its endpoint is missing, ...). */
  serviceMissing?: string;
  note?: string;
};

/** Aggregates the rounds of every target into one table row with ratios to the baseline. */
export function buildRow<T>(options: RowOptions<T>): Row {
  const baselineName = options.baselineName ?? upstreamName;
  const figureOf = (name: string): number | null => {
    const rounds = options.results.get(name);
    if (!rounds || rounds.length === 0) return null;
    const values = rounds.map((measurement, round) => options.pick(measurement, round));
    const finite = values.filter((value) => Number.isFinite(value));
    if (finite.length === 0) return null;
    return finiteOrNull(options.aggregate === "min" ? Math.min(...finite) : median(finite));
  };
  const service = options.serviceMissing ? null : figureOf(serviceName);
  const baseline = figureOf(baselineName);
  const ratio = ratioOf(service, baseline);
  const peers: PeerFigure[] = (options.peers ?? [])
    .filter((name) => options.results.has(name))
    .map((name) => {
      const value = figureOf(name);
      return { name, value, ratio: ratioOf(value, baseline) };
    });
  const met = service === null || !options.meets ? null : options.meets(service, ratio);
  const notes = [options.serviceMissing, options.note].filter((note): note is string => Boolean(note));
  return {
    scenario: options.scenario,
    metric: options.metric,
    unit: options.unit,
    service,
    baseline,
    baselineName,
    ratio,
    target: options.target,
    met,
    peers,
    note: notes.length > 0 ? notes.join("; ") : undefined,
  };
}

/**
 * A row of what the service adds: per round, the service's figure minus the baseline's figure of
 * the same round (both saw the same machine load). The baseline column and every ratio compare
 * totals, since the baseline's own "added" figure is zero by definition.
 */
export function buildAddedRow<T>(
  options: Omit<RowOptions<T>, "pick"> & { total: (measurement: T) => number },
): Row {
  const baselineRounds = options.results.get(options.baselineName ?? upstreamName) ?? [];
  const added = buildRow({
    ...options,
    pick: (measurement, round) =>
      options.total(measurement) -
      (baselineRounds[round] ? options.total(baselineRounds[round]) : Number.NaN),
  });
  const totals = buildRow({ ...options, pick: (measurement) => options.total(measurement) });
  return {
    ...added,
    baseline: totals.baseline,
    ratio: totals.ratio,
    peers: added.peers.map((peer) => ({
      ...peer,
      ratio: totals.peers.find((candidate) => candidate.name === peer.name)?.ratio ?? null,
    })),
  };
}
