import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, { type FastifyInstance, LogController } from "fastify";
import type { Logger } from "pino";
import packageJson from "../package.json" with { type: "json" };
import { type Config, secretValues } from "./config.ts";
import { authenticationPlugin } from "./http/authentication.ts";
import { drainingPlugin } from "./http/draining.ts";
import { errorHandlerPlugin } from "./http/error-handler.ts";
import { openApiPlugin } from "./http/openapi.ts";
import { requestIdFor } from "./http/request-id.ts";
import { requestLoggingPlugin } from "./http/request-logging.ts";
import { StreamSlots } from "./http/stream-slots.ts";
import { createValidatorCompiler } from "./http/validator-compiler.ts";
import { createJobQueue } from "./jobs/create-job-queue.ts";
import type { JobQueue } from "./jobs/job-queue.ts";
import { createKnowledgeStore } from "./knowledge/create-knowledge-store.ts";
import type { KnowledgeStore } from "./knowledge/knowledge-store.ts";
import { Lifecycle } from "./lifecycle.ts";
import { createChatCompletionsUpstreams } from "./llm/chat-completions-upstreams.ts";
import { createProviders } from "./llm/create-providers.ts";
import type { LlmCallObserver } from "./llm/llm-call-observer.ts";
import { createModelRegistry, type ModelRegistry } from "./llm/model-registry.ts";
import { combineObservers } from "./observability/combine-observers.ts";
import { createLogger } from "./observability/create-logger.ts";
import { createObservability } from "./observability/create-observability.ts";
import type { JobQueueDepthSource, MetricsRegistry } from "./observability/metrics-registry.ts";
import { requestObservationPlugin } from "./observability/request-observation.ts";
import { chatRoutes } from "./routes/chat.ts";
import { jobRoutes } from "./routes/jobs.ts";
import { knowledgeRoutes } from "./routes/knowledge.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { openAIRoutes } from "./routes/openai.ts";
import { systemRoutes } from "./routes/system.ts";
import { traceCheckRoutes } from "./routes/trace-check.ts";

export type AppOptions = {
  config: Config;
  /** Defaults to JSON lines on stdout at `config.logLevel`. */
  logger?: Logger;
  /** Shared with the process so a signal can start draining. */
  lifecycle?: Lifecycle;
  /** Model names that get their own metric label (others share `other`); defaults to the configured model and echo. */
  knownModels?: readonly string[];
  /** Job counts by state, read at each scrape for the queue depth gauge. */
  jobQueueDepth?: JobQueueDepthSource;
  /** Defaults to the queue chosen by config; one passed in is closed by its owner, not the app. */
  jobQueue?: JobQueue;
  /** Defaults to the store chosen by config; one passed in is closed by its owner, not the app. */
  knowledgeStore?: KnowledgeStore;
  /** Defaults to the AI SDK providers configured by `config` (`LLM_MODEL`, `OPENAI_BASE_URL`, ...). */
  modelRegistry?: ModelRegistry;
  /** Told about every model call too, besides the app's own metrics, log line and traces. */
  llmCallObserver?: LlmCallObserver;
};

export type App = FastifyInstance & {
  lifecycle: Lifecycle;
  config: Config;
  /** Metrics, including `jobFinished` and `setJobQueueDepthSource` for the job queue. */
  metrics: MetricsRegistry;
  /** What the chat layer reports each model call to (metrics, log line, OTel span, LangSmith run). */
  llmCallObserver: LlmCallObserver;
  jobQueue: JobQueue;
  knowledgeStore: KnowledgeStore;
  modelRegistry: ModelRegistry;
  /** The open streams (`active`) and their cap, for metrics. */
  streamSlots: StreamSlots;
};

/**
 * The whole service as one Fastify instance. It never listens: `server.ts` does that, and tests
 * call it with `inject` or listen on port 0.
 */
export async function buildApp(options: AppOptions): Promise<App> {
  const { config } = options;
  const lifecycle = options.lifecycle ?? new Lifecycle();
  const logger = options.logger ?? createLogger({ level: config.logLevel, secrets: secretValues(config) });

  const app = Fastify({
    loggerInstance: logger,
    // One line per request comes from our own hook, with the route template and request id.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: "request_id" }),
    genReqId: requestIdFor,
    bodyLimit: config.bodyLimitBytes,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    // Draining is answered by our own hook, in our error envelope and with the request id.
    return503OnClosing: false,
    forceCloseConnections: "idle",
    onProtoPoisoning: "error",
    onConstructorPoisoning: "error",
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.server.headersTimeout = config.headersTimeoutMs;
  app.setValidatorCompiler(createValidatorCompiler());

  app.decorate("config", config);
  app.decorate("lifecycle", lifecycle);
  let modelRegistry = options.modelRegistry;
  if (modelRegistry === undefined) {
    // Chat Completions providers are also reachable without the AI SDK, for the /v1 relay.
    const upstreams = createChatCompletionsUpstreams(config);
    app.addHook("onClose", () => upstreams.close());
    modelRegistry = createModelRegistry({
      defaultModel: config.llmModel,
      providers: createProviders({ config }),
      chatCompletionsUpstreams: upstreams.byProvider,
    });
  }
  const streamSlots = new StreamSlots(config.maxConcurrentStreams);
  app.decorate("modelRegistry", modelRegistry);
  app.decorate("streamSlots", streamSlots);

  const observability = await createObservability({
    config,
    logger,
    knownModels: options.knownModels,
    jobQueueDepth: options.jobQueueDepth,
  });
  app.decorate("metrics", observability.metrics);
  const llmCallObserver = options.llmCallObserver
    ? combineObservers([observability.llmCallObserver, options.llmCallObserver])
    : observability.llmCallObserver;
  app.decorate("llmCallObserver", llmCallObserver);
  app.addHook("onClose", () => observability.close());

  await app.register(requestLoggingPlugin);
  // Before authentication and draining, so the requests they refuse are measured and traced too.
  await app.register(requestObservationPlugin, observability);
  await app.register(errorHandlerPlugin);
  await app.register(drainingPlugin, { lifecycle });
  await app.register(authenticationPlugin, { apiKeys: config.apiKeys });
  await app.register(openApiPlugin, { version: packageJson.version });

  await app.register(systemRoutes, {
    lifecycle,
    describe: () => ({ version: packageJson.version, docs: "/docs" }),
  });
  await app.register(metricsRoutes, { metrics: observability.metrics });
  await app.register(traceCheckRoutes, { config, observability });

  const jobQueue = options.jobQueue ?? createJobQueue(config);
  const knowledgeStore = options.knowledgeStore ?? createKnowledgeStore(config);
  app.decorate("jobQueue", jobQueue);
  app.decorate("knowledgeStore", knowledgeStore);
  if (options.jobQueueDepth === undefined)
    observability.metrics.setJobQueueDepthSource(() => jobQueue.counts());
  lifecycle.addReadinessCheck("job_queue", () => jobQueue.ping());
  lifecycle.addReadinessCheck("knowledge_store", () => knowledgeStore.ping());
  app.addHook("onClose", async () => {
    if (!options.jobQueue) await jobQueue.close();
    if (!options.knowledgeStore) await knowledgeStore.close();
  });
  await app.register(jobRoutes, { jobQueue, pingIntervalMs: config.streamPingMs });
  await app.register(knowledgeRoutes, { knowledgeStore });
  const chatDependencies = {
    config,
    modelRegistry,
    llmCallObserver,
    streamSlots,
  };
  await app.register(chatRoutes, { ...chatDependencies, knowledgeStore });
  await app.register(openAIRoutes, chatDependencies);

  app.addHook("onReady", async () => lifecycle.markReady());
  return app as unknown as App;
}
