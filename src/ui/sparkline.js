// A small SVG line chart of recent values. It is drawn with attributes only (no inline styles), so
// the page's CSP needs no exception; the figure's text says the same for screen readers.

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 200;
const HEIGHT = 48;

export function createSparkline() {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", "sparkline");
  const area = document.createElementNS(SVG, "polygon");
  area.setAttribute("class", "sparkline-area");
  const line = document.createElementNS(SVG, "polyline");
  line.setAttribute("class", "sparkline-line");
  line.setAttribute("vector-effect", "non-scaling-stroke");
  svg.append(area, line);

  return {
    element: svg,
    /**
     * Draws `values` (undefined ones as zero), newest on the right, over at least `minimumSlots`
     * slots, so a few points make a visible line rather than a sliver of the whole history.
     */
    draw(values, minimumSlots) {
      const numbers = values.map((value) => (Number.isFinite(value) ? value : 0));
      const capacity = Math.max(numbers.length, minimumSlots);
      const top = Math.max(...numbers, 0) || 1;
      const step = WIDTH / Math.max(capacity - 1, 1);
      const offset = (capacity - numbers.length) * step;
      const points = numbers.map((value, index) => {
        const x = offset + index * step;
        const y = HEIGHT - 2 - (value / top) * (HEIGHT - 4);
        return `${x.toFixed(1)},${y.toFixed(1)}`;
      });
      line.setAttribute("points", points.join(" "));
      const first = points.length > 0 ? `${offset.toFixed(1)},${HEIGHT}` : "";
      const last = points.length > 0 ? `${WIDTH},${HEIGHT}` : "";
      area.setAttribute("points", [first, ...points, last].join(" ").trim());
    },
  };
}
