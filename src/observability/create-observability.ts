import type { Logger } from "pino";
import type { Config } from "../config.ts";
import type { LlmCallObserver } from "../llm/llm-call-observer.ts";
import { settledWithin } from "../settled-within.ts";
import { combineObservers } from "./combine-observers.ts";
import { createGenAiMetricsObserver } from "./gen-ai-metrics-observer.ts";
import { InFlightRequests } from "./in-flight-requests.ts";
import { createLangSmithTracing, type LangSmithTracing } from "./langsmith-tracing.ts";
import { createLlmCallLogObserver } from "./llm-call-log-observer.ts";
import {
  type DataDirFreeBytesSource,
  type JobQueueDepthSource,
  type KnowledgeStoreBytesSource,
  MetricsRegistry,
  type StreamSlotsSource,
} from "./metrics-registry.ts";
import { createOtelLlmCallObserver } from "./otel-llm-call-observer.ts";
import { createTracing, type Tracing } from "./tracing.ts";

export type ObservabilityOptions = {
  config: Config;
  logger: Logger;
  /** Model names that get their own metric label; defaults to `configuredModelNames(config)`. */
  knownModels?: readonly string[];
  jobQueueDepth?: JobQueueDepthSource;
  /** The knowledge store's size, for its gauge beside `KNOWLEDGE_MAX_BYTES`. */
  knowledgeStoreBytes?: KnowledgeStoreBytesSource;
  /** `DATA_DIR`'s free bytes, read at each scrape. */
  dataDirFreeBytes?: DataDirFreeBytesSource;
  /** The open streams and their cap, read at each scrape. */
  streamSlots?: StreamSlotsSource;
};

/** Everything the app observes with, built once per app instance. */
export type Observability = {
  readonly metrics: MetricsRegistry;
  readonly inFlight: InFlightRequests;
  readonly tracing: Tracing | undefined;
  readonly langsmith: LangSmithTracing | undefined;
  /** What the chat layer reports each model call to. */
  readonly llmCallObserver: LlmCallObserver;
  /** Exports buffered spans and runs; bounded so a dead collector cannot hold shutdown. */
  close(): Promise<void>;
};

const FLUSH_TIMEOUT_MS = 5000;

/** The default model's name without its provider, and the built-in echo model. */
export function configuredModelNames(config: Config): string[] {
  const separator = config.llmModel.indexOf(":");
  const model = separator < 0 ? config.llmModel : config.llmModel.slice(separator + 1);
  // The models file's deployments are configured too (as the models file read at start lists them).
  const deployments = (config.catalog?.models ?? []).flatMap((entry) =>
    entry.deployments.map((deployment) => deployment.model),
  );
  return [...new Set(["echo", model, ...deployments])];
}

export async function createObservability(options: ObservabilityOptions): Promise<Observability> {
  const { config, logger } = options;
  const metrics = new MetricsRegistry();
  if (options.jobQueueDepth !== undefined) metrics.setJobQueueDepthSource(options.jobQueueDepth);
  if (options.knowledgeStoreBytes !== undefined) {
    metrics.setKnowledgeStore(options.knowledgeStoreBytes, config.knowledgeMaxBytes);
  }
  metrics.setQuotas({
    jobsMaxQueued: config.jobsMaxQueued,
    dataDirMinFreeBytes: config.dataDirMinFreeBytes,
    jobMaxSubscribers: config.jobMaxSubscribers,
    dataDirFreeBytes: options.dataDirFreeBytes,
    streamSlots: options.streamSlots,
  });
  const inFlight = new InFlightRequests();
  const [tracing, langsmith] = await Promise.all([createTracing(config), createLangSmithTracing(config)]);

  const observers: LlmCallObserver[] = [
    createGenAiMetricsObserver({
      metrics,
      inFlight,
      knownModels: options.knownModels ?? configuredModelNames(config),
    }),
    createLlmCallLogObserver(logger),
  ];
  if (tracing !== undefined) observers.push(createOtelLlmCallObserver(tracing, inFlight));
  if (langsmith !== undefined) {
    // Loaded only when LangSmith is on, like the SDK itself.
    const { createLangSmithObserver } = await import("./langsmith-observer.ts");
    observers.push(createLangSmithObserver({ langsmith, environmentName: config.environmentName }));
  }
  const llmCallObserver = combineObservers(observers, (error) =>
    logger.warn({ err: error }, "a model call observer failed"),
  );

  return {
    metrics,
    inFlight,
    tracing,
    langsmith,
    llmCallObserver,
    async close() {
      metrics.close();
      const flushes = [tracing?.shutdown(), langsmith?.flush()].map((flush) =>
        Promise.resolve(flush).catch((error: unknown) =>
          logger.warn({ err: error }, "exporting traces at shutdown failed"),
        ),
      );
      await settledWithin(Promise.all(flushes), FLUSH_TIMEOUT_MS, { unref: true });
    },
  };
}
