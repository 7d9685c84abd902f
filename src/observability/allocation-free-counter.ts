import type { Metric, Registry } from "prom-client";

export type CounterSeries = { inc(): void };

type Series = CounterSeries & { readonly labels: Readonly<Record<string, string>>; value: number };

/**
 * A Prometheus counter whose `inc` allocates nothing, for counts taken on every request.
 * prom-client's counter validates and hashes its labels on every call, even through a bound
 * child; here a series is looked up once per label set and kept by the caller.
 */
export class AllocationFreeCounter {
  readonly name: string;
  readonly help: string;
  readonly type = "counter";
  readonly aggregator = "sum";
  readonly #series = new Map<string, Series>();

  constructor(options: { name: string; help: string; registry: Registry }) {
    this.name = options.name;
    this.help = options.help;
    options.registry.registerMetric(this as unknown as Metric);
  }

  /** The series for `labels`; callers keep it (the key is built here, not on every increment). */
  series(labels: Readonly<Record<string, string>>): CounterSeries {
    const key = JSON.stringify(labels);
    let series = this.#series.get(key);
    if (series === undefined) {
      const created: Series = {
        labels: { ...labels },
        value: 0,
        inc() {
          created.value += 1;
        },
      };
      series = created;
      this.#series.set(key, series);
    }
    return series;
  }

  get(): {
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: { labels: Record<string, string>; value: number }[];
  } {
    const values = [...this.#series.values()].map((series) => ({
      labels: { ...series.labels },
      value: series.value,
    }));
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
