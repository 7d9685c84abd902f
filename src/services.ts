import type { Logger } from "pino";
import type { AccessStore } from "./access/access-store.ts";
import { type Access, createAccess } from "./access/create-access.ts";
import { createAccessStore } from "./access/create-access-store.ts";
import type { ModelPrice } from "./access/model-prices.ts";
import { type ChatPipeline, createChatPipeline } from "./chat/chat-pipeline.ts";
import { type Config, catalogSecretValues, configuredSecrets } from "./config.ts";
import { createEmbeddingsPipeline, type EmbeddingsPipeline } from "./embeddings/embeddings-pipeline.ts";
import { createModelCallAdmission } from "./http/model-call-admission.ts";
import { StreamSlots } from "./http/stream-slots.ts";
import { createJobQueue } from "./jobs/create-job-queue.ts";
import type { JobQueue } from "./jobs/job-queue.ts";
import { createKnowledgeStore } from "./knowledge/create-knowledge-store.ts";
import { HybridKnowledgeStore } from "./knowledge/hybrid-knowledge-store.ts";
import type { KnowledgeStore } from "./knowledge/knowledge-store.ts";
import { createUploadStore } from "./knowledge/uploads/create-upload-store.ts";
import type { UploadStore } from "./knowledge/uploads/upload-store.ts";
import { Lifecycle } from "./lifecycle.ts";
import { createAnthropicMessagesUpstreams } from "./llm/anthropic-messages-upstream.ts";
import { createChatCompletionsUpstreams } from "./llm/chat-completions-upstreams.ts";
import { createEmbeddingModels, type EmbeddingModels } from "./llm/create-embedding-models.ts";
import { createProviders } from "./llm/create-providers.ts";
import { createTextEmbedder } from "./llm/create-text-embedder.ts";
import type { LlmCallObserver } from "./llm/llm-call-observer.ts";
import { createModelRegistry, type ModelRegistry, type ResolvedModel } from "./llm/model-registry.ts";
import { createAccessMetrics } from "./observability/access-metrics.ts";
import { combineObservers } from "./observability/combine-observers.ts";
import { createObservability, type Observability } from "./observability/create-observability.ts";
import type { JobQueueDepthSource } from "./observability/metrics-registry.ts";
import { type DeploymentUpSample, RoutingMetrics } from "./observability/routing-metrics.ts";
import { CatalogReloader } from "./routing/catalog-reloader.ts";
import { createDeploymentModels, type DeploymentModels } from "./routing/create-deployment-models.ts";
import { ModelRouter } from "./routing/model-router.ts";
import { DiskSpaceFloor } from "./storage/disk-space-floor.ts";
import { isUnavailableDependency, openOrUnavailable } from "./unavailable-dependency.ts";

/** What a job worker needs: the queue it takes jobs from and the store its jobs write to. */
export type WorkerServices = {
  readonly config: Config;
  readonly logger: Logger;
  readonly jobQueue: JobQueue;
  readonly knowledgeStore: KnowledgeStore;
  /** Uploaded files waiting for their ingest jobs (DATA_DIR/uploads, or PostgreSQL with DATABASE_URL). */
  readonly uploads: UploadStore;
  /** Closes what these services opened, once; what was passed in is closed by whoever made it. */
  close(): Promise<void>;
};

/** Everything the HTTP process serves with, built once and handed to `buildApp`. */
export type Services = WorkerServices & {
  /** Starting, ready or draining; `/ready` also checks the queue and the store through it. */
  readonly lifecycle: Lifecycle;
  readonly modelRegistry: ModelRegistry;
  /** The catalog's models and their deployments' health: every chat call is routed through it. */
  readonly router: ModelRouter;
  /** Reloads `MODELS_FILE` when it changes and on SIGHUP; undefined without a models file. */
  readonly catalogReloader: CatalogReloader | undefined;
  /** The open streams and their cap (`MAX_CONCURRENT_STREAMS`). */
  readonly streamSlots: StreamSlots;
  /** `DATA_DIR`'s free space and its floor (`DATA_DIR_MIN_FREE_BYTES`): ingest refuses below it. */
  readonly diskSpace: DiskSpaceFloor;
  /** Metrics, request tracing and LangSmith. */
  readonly observability: Observability;
  /** What the chat layer reports each model call to: the observability's observers and the override's. */
  readonly llmCallObserver: LlmCallObserver;
  /** Every model call of every chat endpoint goes through it. */
  readonly chat: ChatPipeline;
  /** Every `POST /v1/embeddings` call goes through it. */
  readonly embeddings: EmbeddingsPipeline;
  /** Virtual keys, rate limits, budgets and the usage ledger. */
  readonly access: Access;
};

/** What a caller (a test, a process with a special store) gives instead of what config would choose. */
export type ServiceOverrides = {
  /** Shared with the caller so it can start draining. */
  lifecycle?: Lifecycle;
  jobQueue?: JobQueue;
  knowledgeStore?: KnowledgeStore;
  /** Instead of the AI SDK providers configured by `config` (`LLM_MODEL`, `OPENAI_BASE_URL`, ...). */
  modelRegistry?: ModelRegistry;
  /** Instead of the AI SDK embedding models configured by `config`, for providers not relayed to. */
  embeddingModels?: EmbeddingModels;
  /** Told about every model call too, besides the service's own metrics, log line and traces. */
  llmCallObserver?: LlmCallObserver;
  /** Model names that get their own metric label (others share `other`); defaults to the configured model and echo. */
  knownModels?: readonly string[];
  /** Job counts by state, read at each scrape for the queue depth gauge; defaults to the job queue's. */
  jobQueueDepth?: JobQueueDepthSource;
  /** Where keys and the usage ledger live, instead of what config would choose (closed by the caller). */
  accessStore?: AccessStore;
  /** Prefixes the rate limits' Redis keys (default `llm-api`), so that test runs never meet. */
  redisPrefix?: string;
  /** Per-model prices over the bundled table and `MODEL_PRICES` (the models file's, once it lands). */
  modelPrices?: Readonly<Record<string, ModelPrice>>;
};

/**
 * The one place the HTTP process's dependencies are wired. A job queue or knowledge store that
 * cannot be opened leaves the service serving without it (chat keeps working, `/ready` names it);
 * anything else that fails to build fails the start, after closing what was already opened.
 */
export async function createServices(
  config: Config,
  logger: Logger,
  overrides: ServiceOverrides = {},
): Promise<Services> {
  const owned = new OwnedResources();
  try {
    const storage = openJobStorage(config, overrides, owned, (name, open) =>
      openOrUnavailable(name, open, logger),
    );
    const { jobQueue, uploads } = storage;
    const modelRegistry = overrides.modelRegistry ?? createConfiguredModelRegistry(config, owned);
    const embeddingModels = overrides.embeddingModels ?? createEmbeddingModels({ config });
    const deploymentModels = owned.add(createDeploymentModels({ echoDelayMs: config.echoDelayMs }));
    const knowledgeStore = withHybridSearch(
      config,
      storage.knowledgeStore,
      modelRegistry,
      embeddingModels,
      deploymentModels,
    );
    const lifecycle = overrides.lifecycle ?? new Lifecycle({ checkTimeoutMs: config.readyCheckTimeoutMs });
    lifecycle.addReadinessCheck("job_queue", () => jobQueue.ping());
    lifecycle.addReadinessCheck("knowledge_store", () => knowledgeStore.ping());
    const diskSpace = new DiskSpaceFloor({ path: config.dataDir, minFreeBytes: config.dataDirMinFreeBytes });
    // Named for why it fails: DATA_DIR has less free space than DATA_DIR_MIN_FREE_BYTES.
    lifecycle.addReadinessCheck("data_dir_free_space", () => diskSpace.check());
    const streamSlots = new StreamSlots(config.maxConcurrentStreams);

    const observability = owned.add(
      await createObservability({
        config,
        logger,
        knownModels: overrides.knownModels,
        jobQueueDepth: overrides.jobQueueDepth ?? (() => jobQueue.counts()),
        knowledgeStoreBytes: () => knowledgeStore.storedBytes(),
        dataDirFreeBytes: () => diskSpace.freeBytes(),
        streamSlots,
      }),
    );
    const llmCallObserver = overrides.llmCallObserver
      ? combineObservers([observability.llmCallObserver, overrides.llmCallObserver])
      : observability.llmCallObserver;

    const routingMetrics = new RoutingMetrics(observability.metrics.registry, () =>
      deploymentUpSamples(router),
    );
    const router: ModelRouter = new ModelRouter({
      registry: modelRegistry,
      deploymentModels,
      catalog: config.catalog,
      observer: routingMetrics,
    });
    for (const warning of config.catalog?.warnings ?? []) logger.warn(warning);
    const catalogReloader =
      config.modelsFile === undefined
        ? undefined
        : owned.add(
            new CatalogReloader({
              file: config.modelsFile,
              environment: config.catalogEnvironment,
              router,
              logger,
              onReload: (result) => {
                // Before any call can use them (the reload is synchronous): a new deployment's key
                // is scrubbed from logs and error bodies like the keys read at boot.
                if (result === "success") configuredSecrets(config).add(catalogSecretValues(router.catalog));
                routingMetrics.reloaded(result);
              },
            }),
          );
    const access = owned.add(openAccess(config, logger, overrides, observability, lifecycle));
    const admission = createModelCallAdmission(access.control);
    return {
      config,
      logger,
      lifecycle,
      jobQueue,
      knowledgeStore,
      uploads,
      modelRegistry,
      router,
      catalogReloader,
      streamSlots,
      diskSpace,
      observability,
      llmCallObserver,
      chat: createChatPipeline({
        config,
        router,
        llmCallObserver,
        streamSlots,
        knowledgeStore,
        admission,
      }),
      embeddings: createEmbeddingsPipeline({
        config,
        modelRegistry,
        router,
        embeddingModels,
        llmCallObserver,
        admission,
      }),
      access,
      close: () => owned.close(),
    };
  } catch (error) {
    await owned.close();
    throw error;
  }
}

/** Keys and the ledger in their store, limits in process or on Redis, their metrics and log lines. */
function openAccess(
  config: Config,
  logger: Logger,
  overrides: ServiceOverrides,
  observability: Observability,
  lifecycle: Lifecycle,
): Access {
  if (config.apiKeys.length === 0 && config.adminApiKey === undefined) {
    logger.warn(
      "neither API_KEYS nor ADMIN_API_KEY is set: the service is open, anyone who reaches it may call it",
    );
  }
  // A store passed in belongs to the caller; one opened here is closed with the access layer.
  const store =
    overrides.accessStore === undefined
      ? openOrUnavailable("key store", () => createAccessStore(config), logger)
      : { ...bindStore(overrides.accessStore), close: async () => {} };
  let metrics: ReturnType<typeof createAccessMetrics> | undefined;
  const access = createAccess({
    config,
    store,
    // The models file's prices, over which a test's (or embedder's) own take precedence.
    prices: { ...catalogPrices(config), ...overrides.modelPrices },
    redisPrefix: overrides.redisPrefix,
    events: {
      usageRowsDropped(count) {
        metrics?.usageRowsDropped.inc(count);
        logger.error(
          { dropped_rows: count },
          `usage ledger: ${count} rows dropped, the store could not take them`,
        );
      },
      usageWriteFailed(error, buffered) {
        logger.warn(
          { err: error, buffered_rows: buffered },
          "usage ledger: the store cannot be written; rows wait in the buffer",
        );
      },
      usageRowsRejected(error, count) {
        logger.error(
          { err: error, rejected_rows: count },
          `usage ledger: the store refused ${count} rows for a value in them; they are dropped, the rest of their batch is written`,
        );
      },
      limiterModeChanged(shared, cause) {
        if (shared) {
          logger.info("rate limits: Redis answers again, limits and budgets are shared by every replica");
        } else {
          metrics?.limiterFallbacks.inc();
          logger.warn(
            { err: cause },
            "rate limits: Redis cannot be reached, counting per replica until it is back",
          );
        }
      },
    },
  });
  metrics = createAccessMetrics(observability.metrics.registry, access.limitsShared);
  lifecycle.addDegradation("rate_limits_per_replica", () => access.limitsShared() === false);
  // With virtual keys in use, an instance that cannot read them cannot tell callers apart.
  if (config.adminApiKey !== undefined) lifecycle.addReadinessCheck("key_store", () => store.ping());
  return access;
}

/** The store's methods bound to it, so a copy with its own `close` still works. */
function bindStore(store: AccessStore): AccessStore {
  return {
    createKey: (key) => store.createKey(key),
    listKeys: () => store.listKeys(),
    getKey: (id) => store.getKey(id),
    findKeyByDigest: (digest) => store.findKeyByDigest(digest),
    updateKey: (id, changes, now) => store.updateKey(id, changes, now),
    revokeKey: (id, now) => store.revokeKey(id, now),
    insertUsage: (rows) => store.insertUsage(rows),
    rejectsRows: (error) => store.rejectsRows(error),
    queryUsage: (query) => store.queryUsage(query),
    spendSince: (keyId, from) => store.spendSince(keyId, from),
    ping: () => store.ping(),
    close: () => store.close(),
  };
}

/**
 * The part of the services a job worker process needs. Unlike the HTTP process it does not start
 * degraded: a worker without its queue or store has nothing to do, so it fails and is restarted.
 */
export function createWorkerServices(
  config: Config,
  logger: Logger,
  overrides: Pick<ServiceOverrides, "jobQueue" | "knowledgeStore"> = {},
): WorkerServices {
  const owned = new OwnedResources();
  try {
    const storage = openJobStorage(config, overrides, owned, (_name, open) => open());
    const { jobQueue, uploads } = storage;
    // The models are needed only to embed chunks at ingest, when an embedding model is configured.
    const embeds =
      config.embeddingsModel !== undefined ||
      config.catalog?.models.some((model) => model.embeddings) === true;
    const knowledgeStore = embeds
      ? withHybridSearch(
          config,
          storage.knowledgeStore,
          createConfiguredModelRegistry(config, owned),
          createEmbeddingModels({ config }),
          owned.add(createDeploymentModels({ echoDelayMs: config.echoDelayMs })),
        )
      : storage.knowledgeStore;
    return { config, logger, jobQueue, knowledgeStore, uploads, close: () => owned.close() };
  } catch (error) {
    // The queue may be open when the store fails; nobody else holds it to close it. The failure
    // to report is the one that stopped the start, not one while closing.
    owned.close().catch(() => {});
    throw error;
  }
}

type Opener = <T extends object>(name: string, open: () => T) => T;

function openJobStorage(
  config: Config,
  overrides: Pick<ServiceOverrides, "jobQueue" | "knowledgeStore">,
  owned: OwnedResources,
  open: Opener,
): { jobQueue: JobQueue; knowledgeStore: KnowledgeStore; uploads: UploadStore } {
  const jobQueue = overrides.jobQueue ?? owned.add(open("job queue", () => createJobQueue(config)));
  const knowledgeStore =
    overrides.knowledgeStore ?? owned.add(open("knowledge store", () => createKnowledgeStore(config)));
  const uploads = owned.add(open("upload store", () => createUploadStore(config)));
  return { jobQueue, knowledgeStore, uploads };
}

/**
 * With an embedding model (see `knowledgeEmbeddingModel`), the store embeds chunks as they are
 * written and searches hybrid; without one it stays full-text.
 */
function withHybridSearch(
  config: Config,
  store: KnowledgeStore,
  modelRegistry: ModelRegistry,
  embeddingModels: EmbeddingModels,
  deploymentModels: DeploymentModels,
): KnowledgeStore {
  // A store that could not be opened stays recognisable as such (the worker is not started on it).
  if (isUnavailableDependency(store)) return store;
  const embedding = knowledgeEmbeddingModel(config, modelRegistry, deploymentModels);
  if (embedding === undefined) return store;
  const embedder = createTextEmbedder({
    ...embedding,
    embeddingModels,
    limits: {
      timeoutMs: config.llmTimeoutMs,
      idleTimeoutMs: config.llmIdleTimeoutMs,
      maxRetries: config.llmMaxRetries,
    },
  });
  return new HybridKnowledgeStore(store, embedder);
}

/**
 * `EMBEDDINGS_MODEL` when set; otherwise the models file's model marked `embeddings: true`, through
 * its first deployment (ingest embeds in the background, where a retry is enough; chat traffic is
 * what the router balances).
 */
function knowledgeEmbeddingModel(
  config: Config,
  modelRegistry: ModelRegistry,
  deploymentModels: DeploymentModels,
): { model: ResolvedModel; setting: string } | undefined {
  if (config.embeddingsModel !== undefined) {
    return {
      model: modelRegistry.resolve(config.embeddingsModel),
      setting: `EMBEDDINGS_MODEL ${config.embeddingsModel}`,
    };
  }
  const flagged = config.catalog?.models.find((model) => model.embeddings);
  if (flagged === undefined) return undefined;
  return {
    model: deploymentModels.modelFor(flagged.deployments[0]),
    setting: `MODELS_FILE ${config.catalog?.file}: model ${flagged.name}`,
  };
}

function createConfiguredModelRegistry(config: Config, owned: OwnedResources): ModelRegistry {
  // Chat Completions providers are also reachable without the AI SDK, for the /v1 relay.
  const upstreams = owned.add(createChatCompletionsUpstreams(config));
  // And the anthropic provider without it, for the /v1/messages relay.
  const anthropic = owned.add(createAnthropicMessagesUpstreams(config));
  return createModelRegistry({
    defaultModel: config.llmModel,
    providers: createProviders({ config }),
    chatCompletionsUpstreams: upstreams.byProvider,
    anthropicMessagesUpstream: anthropic.upstream,
  });
}

/** Each deployment's health for `llm_api_deployment_up`: the models file's, or the environment's one. */
function deploymentUpSamples(router: ModelRouter): DeploymentUpSample[] {
  const now = Date.now();
  return router.models().flatMap((group) =>
    group.deployments.map((deployment) => ({
      model: group.name,
      deployment: deployment.id,
      up: !deployment.coolsDown || deployment.health.isUp(now),
    })),
  );
}

type Closable = { close(): Promise<void> };

/** What the services opened themselves, closed newest first, each once even if another fails. */
class OwnedResources {
  readonly #resources: Closable[] = [];
  #closing: Promise<void> | undefined;

  add<T extends Closable>(resource: T): T {
    this.#resources.push(resource);
    return resource;
  }

  close(): Promise<void> {
    this.#closing ??= this.#closeAll();
    return this.#closing;
  }

  async #closeAll(): Promise<void> {
    const failures: unknown[] = [];
    for (const resource of [...this.#resources].reverse()) {
      try {
        await resource.close();
      } catch (error) {
        failures.push(error);
      }
    }
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) throw new AggregateError(failures, "closing the services failed");
  }
}

/** Each models-file model's `price`, by its name, in the price list's terms. */
function catalogPrices(config: Config): Record<string, ModelPrice> {
  const prices: Record<string, ModelPrice> = {};
  for (const model of config.catalog?.models ?? []) {
    if (model.price === undefined) continue;
    const price: ModelPrice = {
      input_per_mtok: model.price.inputPerMtok,
      output_per_mtok: model.price.outputPerMtok,
      ...(model.price.cachedInputPerMtok === undefined
        ? {}
        : { cached_input_per_mtok: model.price.cachedInputPerMtok }),
    };
    for (const name of [model.name, ...model.aliases]) prices[name] = price;
  }
  return prices;
}
