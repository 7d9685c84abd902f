// Operations: live figures read from /metrics, and the routing and admin panels when the service has them.

import { createAdminPanels } from "./admin-panels.js";
import { apiFetch } from "./api-client.js";
import { bucketsOf, parsePrometheus, quantileBetween, sumOf } from "./parse-prometheus.js";
import { createSparkline } from "./sparkline.js";

export const METRICS_INTERVAL_MS = 2000;
/** Five minutes of points. */
const HISTORY = 150;
/** A chart starts a minute wide and grows to the whole history. */
const CHART_MINIMUM_SLOTS = 30;

const notMetrics = (labels) => labels.path !== "/metrics";
const isServerError = (labels) => labels.status?.startsWith("5") && notMetrics(labels);
const isOutput = (labels) => labels.gen_ai_token_type === "output";

/** Each figure: how to read it from two consecutive scrapes, and how to show it. */
const FIGURES = [
  {
    id: "requests",
    title: "Requests per second",
    value: (now, before, seconds) =>
      (sumOf(now.samples, "http_requests_total", notMetrics) -
        sumOf(before.samples, "http_requests_total", notMetrics)) /
      seconds,
    format: (value) => value.toFixed(2),
    note: (now) => `${sumOf(now.samples, "http_requests_total", notMetrics)} since start`,
  },
  {
    id: "latency",
    title: "p95 latency",
    value: (now, before) =>
      quantileBetween(
        bucketsOf(before.samples, "http_request_duration_seconds", notMetrics),
        bucketsOf(now.samples, "http_request_duration_seconds", notMetrics),
        0.95,
      ),
    format: milliseconds,
    note: () => "all routes, streams included",
  },
  {
    id: "first-token",
    title: "Time to first token (p50)",
    value: (now, before) =>
      quantileBetween(
        bucketsOf(before.samples, "gen_ai_client_operation_time_to_first_chunk_seconds"),
        bucketsOf(now.samples, "gen_ai_client_operation_time_to_first_chunk_seconds"),
        0.5,
      ),
    format: milliseconds,
    note: () => "streaming model calls",
  },
  {
    id: "tokens",
    title: "Output tokens per second",
    value: (now, before, seconds) =>
      (sumOf(now.samples, "gen_ai_client_token_usage_sum", isOutput) -
        sumOf(before.samples, "gen_ai_client_token_usage_sum", isOutput)) /
      seconds,
    format: (value) => value.toFixed(1),
    note: (now) => `${sumOf(now.samples, "gen_ai_client_token_usage_sum", isOutput)} since start`,
  },
  {
    id: "streams",
    title: "Active streams",
    value: (now) => sumOf(now.samples, "llm_api_active_streams"),
    format: (value) => String(value),
    note: (now) => `${sumOf(now.samples, "llm_api_stream_slots_used")} stream slots used`,
  },
  {
    id: "errors",
    title: "Errors per minute (5xx)",
    value: (now, before, seconds) =>
      ((sumOf(now.samples, "http_requests_total", isServerError) -
        sumOf(before.samples, "http_requests_total", isServerError)) *
        60) /
      seconds,
    format: (value) => value.toFixed(1),
    note: (now) => `${sumOf(now.samples, "llm_api_upstream_errors_total")} failed model calls since start`,
  },
  {
    id: "queue",
    title: "Queued jobs",
    value: (now) => sumOf(now.samples, "llm_api_job_queue_depth", (labels) => labels.state === "queued"),
    format: (value) => String(value),
    note: (now) =>
      `${sumOf(now.samples, "llm_api_job_queue_depth", (labels) => labels.state === "running")} running`,
  },
];

export function createOperations() {
  const list = document.getElementById("figures");
  const status = document.getElementById("metrics-status");
  document.getElementById("metrics-interval").textContent = String(METRICS_INTERVAL_MS / 1000);
  const admin = createAdminPanels();

  const cards = FIGURES.map((figure) => {
    const item = document.createElement("li");
    item.className = "figure panel";
    item.dataset.figure = figure.id;
    const title = document.createElement("h2");
    title.textContent = figure.title;
    const value = document.createElement("p");
    value.className = "figure-value";
    value.textContent = "–";
    const note = document.createElement("p");
    note.className = "figure-note";
    const chart = createSparkline();
    item.append(title, value, chart.element, note);
    list.append(item);
    return { figure, value, note, chart, history: [] };
  });

  let previous;
  let timer;

  async function scrape() {
    try {
      const response = await apiFetch("/metrics", { headers: { accept: "text/plain" } });
      const reading = { at: performance.now(), samples: parsePrometheus(await response.text()) };
      if (previous !== undefined) {
        const seconds = (reading.at - previous.at) / 1000;
        for (const card of cards) {
          const value = card.figure.value(reading, previous, seconds);
          card.history.push(value);
          if (card.history.length > HISTORY) card.history.shift();
          card.value.textContent = value === undefined ? "–" : card.figure.format(value);
          card.chart.draw(card.history, CHART_MINIMUM_SLOTS);
        }
      }
      for (const card of cards) card.note.textContent = card.figure.note(reading);
      previous = reading;
      status.textContent = `Updated ${new Date().toLocaleTimeString()}.`;
    } catch (error) {
      status.textContent = `${error.code ?? "ERROR"}: ${error.message}`;
    }
  }

  return {
    start() {
      if (timer !== undefined) return;
      // A rate over the time the view was closed would smear; start afresh.
      previous = undefined;
      scrape();
      timer = setInterval(scrape, METRICS_INTERVAL_MS);
      admin.refresh();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
    refresh() {
      admin.refresh();
    },
  };
}

function milliseconds(seconds) {
  const value = seconds * 1000;
  return value >= 100 ? `${Math.round(value)} ms` : `${value.toFixed(1)} ms`;
}
