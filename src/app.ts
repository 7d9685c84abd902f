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
import { Lifecycle } from "./lifecycle.ts";
import { createProviders } from "./llm/create-providers.ts";
import { type LlmCallObserver, noopLlmCallObserver } from "./llm/llm-call-observer.ts";
import { createModelRegistry, type ModelRegistry } from "./llm/model-registry.ts";
import { createLogger } from "./observability/create-logger.ts";
import { chatRoutes } from "./routes/chat.ts";
import { openAIRoutes } from "./routes/openai.ts";
import { systemRoutes } from "./routes/system.ts";

export type AppOptions = {
  config: Config;
  /** Defaults to JSON lines on stdout at `config.logLevel`. */
  logger?: Logger;
  /** Shared with the process so a signal can start draining. */
  lifecycle?: Lifecycle;
  /** Defaults to the AI SDK providers configured by `config` (`LLM_MODEL`, `OPENAI_BASE_URL`, ...). */
  modelRegistry?: ModelRegistry;
  /** Told about every model call (metrics, traces); defaults to one that ignores them. */
  llmCallObserver?: LlmCallObserver;
};

export type App = FastifyInstance & {
  lifecycle: Lifecycle;
  config: Config;
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
  const modelRegistry =
    options.modelRegistry ??
    createModelRegistry({ defaultModel: config.llmModel, providers: createProviders({ config }) });
  const streamSlots = new StreamSlots(config.maxConcurrentStreams);
  app.decorate("modelRegistry", modelRegistry);
  app.decorate("streamSlots", streamSlots);

  await app.register(requestLoggingPlugin);
  await app.register(errorHandlerPlugin);
  await app.register(drainingPlugin, { lifecycle });
  await app.register(authenticationPlugin, { apiKeys: config.apiKeys });
  await app.register(openApiPlugin, { version: packageJson.version });

  await app.register(systemRoutes, {
    lifecycle,
    describe: () => ({ version: packageJson.version, docs: "/docs" }),
  });
  const chatDependencies = {
    config,
    modelRegistry,
    llmCallObserver: options.llmCallObserver ?? noopLlmCallObserver,
    streamSlots,
  };
  await app.register(chatRoutes, chatDependencies);
  await app.register(openAIRoutes, chatDependencies);

  app.addHook("onReady", async () => lifecycle.markReady());
  return app as unknown as App;
}
