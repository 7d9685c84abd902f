/** One figure of a peer measured in the same run, e.g. bare Fastify's req/s and its ratio to the baseline. */
export type PeerFigure = { name: string; value: number | null; ratio: number | null };

/** One line of the results table. */
export type Row = {
  scenario: string;
  metric: string;
  unit: string;
  /** The service's figure: the median over rounds (or the worst round, where the row says so). */
  service: number | null;
  baseline: number | null;
  baselineName: string;
  /** service / baseline, measured in the same run. */
  ratio: number | null;
  target: string;
  /** null when the scenario was skipped or has no target. */
  met: boolean | null;
  peers: PeerFigure[];
  /** What limits the figure, as measured (CPU saturation, a baseline that failed too, ...). */
  note?: string;
};

export type ScenarioResult = {
  name: string;
  /** Why the scenario has no figures, e.g. "skipped: endpoint missing (404 on POST /chat)". */
  skipped?: string;
  rows: Row[];
  /** Every per-round figure the rows were computed from. */
  raw: unknown;
};

export type BenchRun = {
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  mode: "quick" | "full";
  options: unknown;
  machine: Record<string, unknown>;
  scenarios: ScenarioResult[];
  /** Crashes and restarts during the run. */
  incidents: string[];
};

export function ratioOf(
  value: number | null | undefined,
  baseline: number | null | undefined,
): number | null {
  if (value === null || value === undefined || baseline === null || baseline === undefined) return null;
  // A baseline at or below zero (an RSS delta lost in noise) has no meaningful ratio.
  if (!Number.isFinite(value) || !Number.isFinite(baseline) || baseline <= 0) return null;
  return value / baseline;
}

export function finiteOrNull(value: number | undefined): number | null {
  return value !== undefined && Number.isFinite(value) ? value : null;
}

/** A row before any figure: what a skipped scenario lists, and what a scenario fills in once measured. */
export function unmeasuredRow(
  row: Pick<Row, "metric" | "unit" | "baselineName" | "target">,
): Omit<Row, "scenario"> {
  return {
    metric: row.metric,
    unit: row.unit,
    service: null,
    baseline: null,
    baselineName: row.baselineName,
    ratio: null,
    target: row.target,
    met: null,
    peers: [],
  };
}

/** The result of a scenario that could not run, so the table still lists its rows and why. */
export function skippedScenario(name: string, reason: string, rows: Omit<Row, "scenario">[]): ScenarioResult {
  return {
    name,
    skipped: reason,
    rows: rows.map((row) => ({ ...row, scenario: name, met: null, note: reason })),
    raw: null,
  };
}
