import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, {
  type FastifyInstance,
  LogController,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from "fastify";
import type { Logger } from "pino";
import packageJson from "../package.json" with { type: "json" };
import type { Config } from "./config.ts";
import { authenticationPlugin } from "./http/authentication.ts";
import { handleClientError } from "./http/client-error-handler.ts";
import { CONSOLE_PATH, isConsoleRequest } from "./http/console-request.ts";
import { drainingPlugin } from "./http/draining.ts";
import { errorHandlerPlugin } from "./http/error-handler.ts";
import { handleFrameworkError } from "./http/framework-error-handler.ts";
import { loadSheddingPlugin } from "./http/load-shedding.ts";
import { openApiPlugin } from "./http/openapi.ts";
import { requestIdFor } from "./http/request-id.ts";
import { requestLoggingPlugin } from "./http/request-logging.ts";
import { securityHeadersPlugin } from "./http/security-headers.ts";
import type { StreamSlots } from "./http/stream-slots.ts";
import { createValidatorCompiler } from "./http/validator-compiler.ts";
import type { JobQueue } from "./jobs/job-queue.ts";
import type { KnowledgeStore } from "./knowledge/knowledge-store.ts";
import type { Lifecycle } from "./lifecycle.ts";
import type { LlmCallObserver } from "./llm/llm-call-observer.ts";
import type { ModelRegistry } from "./llm/model-registry.ts";
import type { MetricsRegistry } from "./observability/metrics-registry.ts";
import { requestObservationPlugin } from "./observability/request-observation.ts";
import { adminKeysRoutes } from "./routes/admin-keys.ts";
import { adminUsageRoutes } from "./routes/admin-usage.ts";
import { anthropicRoutes } from "./routes/anthropic.ts";
import { chatRoutes } from "./routes/chat.ts";
import { embeddingsRoutes } from "./routes/embeddings.ts";
import { jobRoutes } from "./routes/jobs.ts";
import { knowledgeRoutes } from "./routes/knowledge.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { modelRoutes } from "./routes/models.ts";
import { openAIRoutes } from "./routes/openai.ts";
import { systemRoutes } from "./routes/system.ts";
import { traceCheckRoutes } from "./routes/trace-check.ts";
import { uiRoutes } from "./routes/ui.ts";
import type { Services } from "./services.ts";

declare module "fastify" {
  interface FastifyInstance {
    config: Config;
    lifecycle: Lifecycle;
    /** Metrics, including `jobFinished` for the job worker. */
    metrics: MetricsRegistry;
    /** What the chat layer reports each model call to (metrics, log line, OTel span, LangSmith run). */
    llmCallObserver: LlmCallObserver;
    jobQueue: JobQueue;
    knowledgeStore: KnowledgeStore;
    modelRegistry: ModelRegistry;
    /** The open streams (`active`) and their cap, for metrics. */
    streamSlots: StreamSlots;
  }
}

/** The app as `buildApp` returns it: pino for its logger, TypeBox for its route schemas. */
export type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  Logger,
  TypeBoxTypeProvider
>;

/**
 * The whole service as one Fastify instance, over the services it is given (`createServices`); it
 * opens nothing itself, so it closes nothing either: whoever created the services closes them
 * after the app. It never listens: `server.ts` does that, and tests call it with `inject` or
 * listen on port 0.
 */
export async function buildApp(services: Services): Promise<App> {
  const { config, lifecycle, observability } = services;

  const app = Fastify({
    loggerInstance: services.logger,
    // One line per request comes from our own hook, with the route template and request id.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: "request_id" }),
    genReqId: requestIdFor,
    bodyLimit: config.bodyLimitBytes,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    // Node checks header and request timeouts only this often (30 s by default): a client that
    // drips its headers must be cut near HEADERS_TIMEOUT_MS, not up to 30 s later.
    http: { connectionsCheckingInterval: Math.min(1000, config.headersTimeoutMs / 2) },
    requestTimeout: config.requestTimeoutMs,
    // Draining is answered by our own hook, in our error envelope and with the request id.
    return503OnClosing: false,
    forceCloseConnections: "idle",
    onProtoPoisoning: "error",
    onConstructorPoisoning: "error",
    // What Node's parser and Fastify's router refuse gets our error body and a request id too.
    clientErrorHandler: handleClientError,
    frameworkErrors: handleFrameworkError,
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.server.headersTimeout = config.headersTimeoutMs;
  app.setValidatorCompiler(createValidatorCompiler());

  app.decorate("config", config);
  app.decorate("lifecycle", lifecycle);
  app.decorate("metrics", observability.metrics);
  app.decorate("llmCallObserver", services.llmCallObserver);
  app.decorate("jobQueue", services.jobQueue);
  app.decorate("knowledgeStore", services.knowledgeStore);
  app.decorate("modelRegistry", services.modelRegistry);
  app.decorate("streamSlots", services.streamSlots);

  await app.register(requestLoggingPlugin);
  // Before authentication and draining, so the requests they refuse are measured and traced too.
  await app.register(requestObservationPlugin, observability);
  await app.register(errorHandlerPlugin);
  // Before draining and authentication: their refusals carry the headers too, and a CORS preflight carries no key.
  await app.register(securityHeadersPlugin, { corsOrigins: config.corsOrigins });
  await app.register(drainingPlugin, { lifecycle });
  // Before authentication: shedding load must cost nothing.
  await app.register(loadSheddingPlugin, {
    maxEventLoopDelayMs: config.maxEventLoopDelayMs,
    maxEventLoopUtilization: config.maxEventLoopUtilization,
    maxHeapUsedBytes: config.maxHeapUsedBytes,
    maxRssBytes: config.maxRssBytes,
  });
  await app.register(authenticationPlugin, {
    apiKeys: config.apiKeys,
    adminApiKey: config.adminApiKey,
    keyDirectory: services.access.keys,
    isPublic: isConsoleRequest,
  });
  await app.register(openApiPlugin, { version: packageJson.version });

  await app.register(systemRoutes, {
    lifecycle,
    describe: () => ({ version: packageJson.version, docs: "/docs", console: CONSOLE_PATH }),
    consolePath: CONSOLE_PATH,
  });
  await app.register(uiRoutes);
  await app.register(metricsRoutes, { metrics: observability.metrics });
  await app.register(traceCheckRoutes, { config, observability });

  const { jobQueue, knowledgeStore, chat, streamSlots } = services;
  await app.register(jobRoutes, {
    jobQueue,
    pingIntervalMs: config.streamPingMs,
    stallMs: config.streamStallMs,
    streamSlots,
    maxSubscribers: config.jobMaxSubscribers,
    maxQueued: config.jobsMaxQueued,
    maxTextBytes: config.ingestMaxBytes,
    diskSpace: services.diskSpace,
    uploads: services.uploads,
    maxUploadBytes: config.ingestMaxBytes,
    embeddingsModel: config.embeddingsModel,
  });
  await app.register(knowledgeRoutes, { knowledgeStore });
  await app.register(chatRoutes, { chat });
  await app.register(openAIRoutes, { chat, router: services.router });
  await app.register(anthropicRoutes, { chat });
  await app.register(modelRoutes, { router: services.router });
  await app.register(embeddingsRoutes, { embeddings: services.embeddings });
  if (config.adminApiKey !== undefined) {
    const { access } = services;
    await app.register(adminKeysRoutes, { store: access.store, changed: () => access.keys.forgetAll() });
    await app.register(adminUsageRoutes, { store: access.store, flush: () => access.ledger.flush() });
  }

  app.addHook("onReady", async () => lifecycle.markReady());
  return app;
}
