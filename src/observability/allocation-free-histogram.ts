import type { Metric, Registry } from "prom-client";

export type HistogramSeries = {
  observe(value: number): void;
};

type Series = HistogramSeries & {
  readonly labels: Readonly<Record<string, string>>;
  readonly counts: Float64Array;
  sum: number;
  count: number;
};

type ExportedValue = { labels: Record<string, string | number>; value: number; metricName: string };

/**
 * A Prometheus histogram whose `observe` allocates nothing, for values recorded once per streamed
 * chunk. prom-client's own histogram builds a labels object and a hash string on every call, which
 * is fine once per request but not thousands of times per second per stream.
 *
 * Series are created once per label set with `series()` and kept; the registry reads them through
 * the same `get()` contract as prom-client's metrics.
 */
export class AllocationFreeHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = "histogram";
  readonly aggregator = "sum";
  readonly #upperBounds: readonly number[];
  readonly #series = new Map<string, Series>();

  constructor(options: { name: string; help: string; buckets: readonly number[]; registry: Registry }) {
    this.name = options.name;
    this.help = options.help;
    this.#upperBounds = [...options.buckets].sort((left, right) => left - right);
    options.registry.registerMetric(this as unknown as Metric);
  }

  /** The series for `labels`; callers keep it (the key is built here, not on every observation). */
  series(labels: Readonly<Record<string, string>>): HistogramSeries {
    const key = JSON.stringify(labels);
    let series = this.#series.get(key);
    if (series === undefined) {
      series = createSeries(labels, this.#upperBounds);
      this.#series.set(key, series);
    }
    return series;
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: ExportedValue[] } {
    const values: ExportedValue[] = [];
    for (const series of this.#series.values()) {
      let cumulative = 0;
      for (let index = 0; index < this.#upperBounds.length; index++) {
        cumulative += series.counts[index];
        values.push({
          labels: { le: this.#upperBounds[index], ...series.labels },
          value: cumulative,
          metricName: `${this.name}_bucket`,
        });
      }
      values.push({
        labels: { le: "+Inf", ...series.labels },
        value: series.count,
        metricName: `${this.name}_bucket`,
      });
      values.push({ labels: { ...series.labels }, value: series.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...series.labels }, value: series.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

function createSeries(labels: Readonly<Record<string, string>>, upperBounds: readonly number[]): Series {
  // One slot per finite bound; values above the last bound only count towards +Inf (`count`).
  const counts = new Float64Array(upperBounds.length);
  const series: Series = {
    labels: { ...labels },
    counts,
    sum: 0,
    count: 0,
    observe(value: number): void {
      if (!Number.isFinite(value)) return;
      series.sum += value;
      series.count += 1;
      for (let index = 0; index < upperBounds.length; index++) {
        if (value <= upperBounds[index]) {
          counts[index] += 1;
          return;
        }
      }
    },
  };
  return series;
}
