import { performance } from "node:perf_hooks";
import { ErrorCodes } from "../errors/error-codes.ts";
import {
  type LlmCallEnd,
  type LlmCallHandle,
  type LlmCallObserver,
  type LlmCallStart,
  operationName,
} from "../llm/llm-call-observer.ts";
import type { HistogramSeries } from "./allocation-free-histogram.ts";
import type { InFlightRequests, RequestObservation } from "./in-flight-requests.ts";
import type { MetricsRegistry } from "./metrics-registry.ts";

/** Every label value outside a known set becomes this one, so no input can add series. */
export const OTHER_LABEL = "other";

const KNOWN_PROVIDERS = new Set(["openai", "anthropic", "ollama", "echo"]);
const KNOWN_RETRY_REASONS = new Set(["rate_limited", "server_error", "connection_error", "timeout"]);
const KNOWN_ERROR_TYPES = new Set<string>([...Object.keys(ErrorCodes), "client_disconnected"]);

export type GenAiMetricsObserverOptions = {
  metrics: MetricsRegistry;
  inFlight: InFlightRequests;
  /** Model names (without provider) that get their own label value; others are `other`. */
  knownModels: readonly string[];
};

type GenAiLabels = {
  gen_ai_operation_name: string;
  gen_ai_provider_name: string;
  gen_ai_request_model: string;
};

/** The series of one (operation, provider, model), made once and reused by every call. */
type BoundSeries = {
  labels: GenAiLabels;
  inputTokens: HistogramSeries;
  outputTokens: HistogramSeries;
  duration: HistogramSeries;
  timeToFirstChunk: HistogramSeries;
  timePerOutputChunk: HistogramSeries;
};

/**
 * Model calls as the OpenTelemetry GenAI metrics (token usage, duration, time to first chunk, time
 * per output chunk) plus the service-health ones they imply: active streams, retries, upstream
 * errors, and the time each request spent upstream (for the service's own added latency).
 */
export function createGenAiMetricsObserver(options: GenAiMetricsObserverOptions): LlmCallObserver {
  const { metrics, inFlight } = options;
  const knownModels = new Set(options.knownModels);
  const seriesByKey = new Map<string, BoundSeries>();

  const seriesFor = (operation: string, provider: string, model: string): BoundSeries => {
    const key = `${operation}\n${provider}\n${model}`;
    let series = seriesByKey.get(key);
    if (series === undefined) {
      const labels: GenAiLabels = {
        gen_ai_operation_name: operation,
        gen_ai_provider_name: provider,
        gen_ai_request_model: model,
      };
      series = {
        labels,
        inputTokens: metrics.tokenUsage.series({ ...labels, gen_ai_token_type: "input" }),
        outputTokens: metrics.tokenUsage.series({ ...labels, gen_ai_token_type: "output" }),
        duration: metrics.operationDuration.series(labels),
        timeToFirstChunk: metrics.timeToFirstChunk.series(labels),
        timePerOutputChunk: metrics.timePerOutputChunk.series(labels),
      };
      seriesByKey.set(key, series);
    }
    return series;
  };

  return {
    start(call: LlmCallStart): LlmCallHandle {
      const provider = KNOWN_PROVIDERS.has(call.provider) ? call.provider : OTHER_LABEL;
      const model = knownModels.has(call.model) ? call.model : OTHER_LABEL;
      const observation = inFlight.get(call.requestId);
      if (observation !== undefined) observation.modelCalls += 1;
      const series = seriesFor(operationName(call.kind), provider, model);
      return new GenAiCallHandle(metrics, series, call.streaming, observation);
    },
  };
}

class GenAiCallHandle implements LlmCallHandle {
  readonly #metrics: MetricsRegistry;
  readonly #series: BoundSeries;
  readonly #streaming: boolean;
  readonly #observation: RequestObservation | undefined;
  readonly #startTime: number;
  #lastChunkTime = -1;
  #ended = false;

  constructor(
    metrics: MetricsRegistry,
    series: BoundSeries,
    streaming: boolean,
    observation: RequestObservation | undefined,
  ) {
    this.#metrics = metrics;
    this.#series = series;
    this.#streaming = streaming;
    this.#observation = observation;
    this.#startTime = performance.now();
    if (streaming) metrics.activeStreams.inc();
  }

  chunk(): void {
    if (!this.#streaming || this.#ended) return;
    const now = performance.now();
    if (this.#lastChunkTime < 0) {
      this.#series.timeToFirstChunk.observe((now - this.#startTime) / 1000);
    } else {
      this.#series.timePerOutputChunk.observe((now - this.#lastChunkTime) / 1000);
    }
    this.#lastChunkTime = now;
  }

  retry(reason: string): void {
    this.#metrics.upstreamRetries.inc({
      gen_ai_provider_name: this.#series.labels.gen_ai_provider_name,
      reason: KNOWN_RETRY_REASONS.has(reason) ? reason : OTHER_LABEL,
    });
  }

  end(result: LlmCallEnd): void {
    if (this.#ended) return;
    this.#ended = true;
    const seconds = (performance.now() - this.#startTime) / 1000;
    if (this.#streaming) this.#metrics.activeStreams.dec();
    if (this.#observation !== undefined) this.#observation.upstreamSeconds += seconds;

    const series = this.#series;
    if (result.outcome === "success") {
      series.duration.observe(seconds);
    } else {
      const errorType =
        result.outcome === "client_disconnected" ? "client_disconnected" : boundedErrorType(result.errorType);
      this.#metrics.operationDuration.series({ ...series.labels, error_type: errorType }).observe(seconds);
      if (result.outcome === "error") {
        this.#metrics.upstreamErrors.inc({
          gen_ai_provider_name: series.labels.gen_ai_provider_name,
          error_type: errorType,
        });
      }
    }
    if (isCount(result.inputTokens)) series.inputTokens.observe(result.inputTokens);
    if (isCount(result.outputTokens)) series.outputTokens.observe(result.outputTokens);
  }

  upstreamHeaders(): Record<string, string> {
    return {};
  }
}

function boundedErrorType(errorType: string | undefined): string {
  return errorType !== undefined && KNOWN_ERROR_TYPES.has(errorType) ? errorType : OTHER_LABEL;
}

function isCount(value: number | undefined): value is number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0;
}
