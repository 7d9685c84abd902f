// Just enough of the Prometheus text format for the operations view: samples with their labels.

/** `[{ name, labels, value }]` for every sample line; comments and blank lines are skipped. */
export function parsePrometheus(text) {
  const samples = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (match === null) continue;
    const [, name, labelText = "", valueText] = match;
    samples.push({ name, labels: parseLabels(labelText), value: parseValue(valueText) });
  }
  return samples;
}

function parseLabels(text) {
  const labels = {};
  const pattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (const [, name, value] of text.matchAll(pattern)) {
    labels[name] = value.replace(/\\(.)/g, (_, character) => (character === "n" ? "\n" : character));
  }
  return labels;
}

function parseValue(text) {
  if (text === "+Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  return Number(text);
}

/** The sum of the samples named `name` whose labels pass `keep`. */
export function sumOf(samples, name, keep = () => true) {
  let total = 0;
  for (const sample of samples) if (sample.name === name && keep(sample.labels)) total += sample.value;
  return total;
}

/** A histogram's cumulative buckets summed over its series: `[[upperBound, count], ...]`, ascending. */
export function bucketsOf(samples, name, keep = () => true) {
  const byBound = new Map();
  for (const sample of samples) {
    if (sample.name !== `${name}_bucket` || !keep(sample.labels)) continue;
    const bound = sample.labels.le === "+Inf" ? Number.POSITIVE_INFINITY : Number(sample.labels.le);
    byBound.set(bound, (byBound.get(bound) ?? 0) + sample.value);
  }
  return [...byBound.entries()].sort((a, b) => a[0] - b[0]);
}

/**
 * The `quantile` of what was observed between two readings of one histogram's buckets,
 * interpolated inside its bucket as Prometheus' histogram_quantile does; undefined when nothing was.
 */
export function quantileBetween(before, after, quantile) {
  const previous = new Map(before);
  const counts = after.map(([bound, count]) => [bound, count - (previous.get(bound) ?? 0)]);
  const total = counts.at(-1)?.[1] ?? 0;
  if (total <= 0) return undefined;
  const rank = quantile * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [bound, count] of counts) {
    if (count >= rank) {
      // Past the last finite bound there is nothing to interpolate to.
      if (bound === Number.POSITIVE_INFINITY) return lowerBound;
      const inBucket = count - lowerCount;
      return inBucket === 0 ? bound : lowerBound + ((bound - lowerBound) * (rank - lowerCount)) / inBucket;
    }
    lowerBound = bound;
    lowerCount = count;
  }
  return lowerBound;
}
