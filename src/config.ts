import path from "node:path";
import type { ModelPrice } from "./access/model-prices.ts";
import type { Catalog } from "./catalog/catalog.ts";
import { CatalogError } from "./catalog/catalog-error.ts";
import { type CatalogEnvironment, loadCatalog } from "./catalog/load-catalog.ts";
import { SecretSet } from "./secret-set.ts";

/**
 * The whole configuration, read once at boot from the environment (and `.env`).
 * Nothing else in the service reads `process.env`: code receives the parts it needs.
 */
export type Config = Readonly<{
  environmentName: string;
  port: number;
  host: string;
  logLevel: LogLevel;
  bodyLimitBytes: number;
  shutdownTimeoutMs: number;
  /** `READY_CHECK_TIMEOUT_MS`: how long `/ready` waits for one dependency's check before naming it failed. */
  readyCheckTimeoutMs: number;
  keepAliveTimeoutMs: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  apiKeys: readonly string[];
  /** `ADMIN_API_KEY`: the admin API's key (virtual keys, usage); undefined turns the admin API off. */
  adminApiKey: string | undefined;
  /** `RATE_LIMIT_*`: limits per client address for callers without a virtual key. */
  rateLimitRpm: number | undefined;
  rateLimitTpm: number | undefined;
  rateLimitMaxParallel: number | undefined;
  /** `MODEL_PRICES`: prices per model (USD per million tokens) over the bundled table. */
  modelPrices: Readonly<Record<string, ModelPrice>>;
  /** Usage ledger rows waiting to be written before new ones are dropped (and counted). */
  usageBufferRows: number;
  /** `CORS_ORIGINS`: origins a browser may call from; empty for none. */
  corsOrigins: readonly string[];
  /** Load shedding thresholds; 0 turns one off. */
  maxEventLoopDelayMs: number;
  maxEventLoopUtilization: number;
  maxHeapUsedBytes: number;
  maxRssBytes: number;

  llmModel: string;
  openaiApiKey: string | undefined;
  /** Undefined when the openai provider is not configured (neither a key nor a base URL). */
  openaiBaseUrl: string | undefined;
  anthropicApiKey: string | undefined;
  /** Undefined when the anthropic provider is not configured (neither a key nor a base URL). */
  anthropicBaseUrl: string | undefined;
  /** Undefined unless OLLAMA_BASE_URL or an `ollama:` LLM_MODEL says Ollama is wanted. */
  ollamaBaseUrl: string | undefined;
  llmTimeoutMs: number;
  llmIdleTimeoutMs: number;
  llmMaxRetries: number;
  echoDelayMs: number;
  /** `MODELS_FILE`, resolved; undefined when the environment alone says which model serves. */
  modelsFile: string | undefined;
  /** The models file as read at boot; undefined without one (an implicit one-model catalog). */
  catalog: Catalog | undefined;
  /** The environment the service started with: a reloaded models file expands `${NAME}` from it. */
  catalogEnvironment: CatalogEnvironment;
  maxMessageChars: number;
  maxMessages: number;
  maxInputChars: number;
  /** `POST /v1/embeddings`: inputs per request. */
  embeddingsMaxInputs: number;
  streamStallMs: number;
  streamPingMs: number;
  maxConcurrentStreams: number;

  dataDir: string;
  redisUrl: string | undefined;
  databaseUrl: string | undefined;
  databasePoolSize: number;
  ingestRoot: string;
  runWorker: boolean;
  jobConcurrency: number;
  jobAttempts: number;
  jobRetentionMs: number;
  jobLeaseMs: number;
  jobBackoffMs: number;
  chunkSize: number;
  chunkOverlap: number;
  ingestMaxBytes: number;
  ingestFetchTimeoutMs: number;
  ingestMaxPages: number;
  ingestMaxUnpackedBytes: number;
  ingestExtractTimeoutMs: number;
  embeddingsModel: string | undefined;
  knowledgeMaxBytes: number;
  searchTimeoutMs: number;
  jobsMaxQueued: number;
  jobMaxSubscribers: number;
  dataDirMinFreeBytes: number;

  langsmithTracing: boolean;
  langsmithApiKey: string | undefined;
  langsmithProject: string | undefined;
  langsmithEndpoint: string | undefined;
  otelExporterOtlpEndpoint: string | undefined;
  otelServiceName: string;
}>;

export const LogLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LogLevels)[number];

/** A bad setting: the message is one line that names the variable. */
export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, problem: string) {
    super(`Invalid configuration: ${variable} ${problem}`);
    this.name = "ConfigError";
    this.variable = variable;
  }
}

type Environment = Readonly<Record<string, string | undefined>>;

export function loadConfig(environment: Environment): Config {
  const read = createReader(environment);
  const dataDir = path.resolve(read.string("DATA_DIR", "./data"));
  const chunkSize = read.integer("CHUNK_SIZE", 1200, { min: 100, max: 100_000 });
  const llmModel = read.string("LLM_MODEL", "echo");
  const openaiApiKey = read.optional("OPENAI_API_KEY");
  const anthropicApiKey = read.optional("ANTHROPIC_API_KEY");
  const modelsFile = read.optional("MODELS_FILE");
  const catalogEnvironment = Object.freeze({ ...environment });

  const config: Config = {
    environmentName: read.string("NODE_ENV", "development"),
    port: read.integer("PORT", 8000, { min: 0, max: 65_535 }),
    host: read.string("HOST", "0.0.0.0"),
    logLevel: read.oneOf("LOG_LEVEL", LogLevels, "info"),
    bodyLimitBytes: read.integer("BODY_LIMIT_BYTES", 1_048_576, { min: 1024 }),
    shutdownTimeoutMs: read.integer("SHUTDOWN_TIMEOUT_MS", 20_000, { min: 0 }),
    // Well inside the usual probe timeouts (Kubernetes: 1 s by default, load balancers: 2-5 s).
    readyCheckTimeoutMs: read.integer("READY_CHECK_TIMEOUT_MS", 1000, { min: 1, max: 60_000 }),
    // Above the 60 s idle timeout of common load balancers, so they close first.
    keepAliveTimeoutMs: read.integer("KEEP_ALIVE_TIMEOUT_MS", 65_000, { min: 1000 }),
    headersTimeoutMs: read.integer("HEADERS_TIMEOUT_MS", 20_000, { min: 1000 }),
    requestTimeoutMs: read.integer("REQUEST_TIMEOUT_MS", 120_000, { min: 1000 }),
    apiKeys: read.list("API_KEYS"),
    adminApiKey: read.secret("ADMIN_API_KEY"),
    rateLimitRpm: read.optionalInteger("RATE_LIMIT_RPM", { min: 1 }),
    rateLimitTpm: read.optionalInteger("RATE_LIMIT_TPM", { min: 1 }),
    rateLimitMaxParallel: read.optionalInteger("RATE_LIMIT_MAX_PARALLEL", { min: 1 }),
    modelPrices: read.prices("MODEL_PRICES"),
    usageBufferRows: read.integer("USAGE_BUFFER_ROWS", 10_000, { min: 1, max: 10_000_000 }),
    corsOrigins: read.list("CORS_ORIGINS"),
    // Past these, API routes answer 503 OVERLOADED with Retry-After while /health keeps answering.
    maxEventLoopDelayMs: read.integer("MAX_EVENT_LOOP_DELAY_MS", 1000, { min: 0 }),
    maxEventLoopUtilization: read.fraction("MAX_EVENT_LOOP_UTILIZATION", 0),
    maxHeapUsedBytes: read.integer("MAX_HEAP_USED_BYTES", 0, { min: 0 }),
    maxRssBytes: read.integer("MAX_RSS_BYTES", 0, { min: 0 }),

    llmModel,
    // A provider serves only once configured, so no request can make the service call an address
    // nobody set: a key points it at the vendor's own API, a base URL anywhere (a key-less vLLM).
    openaiApiKey,
    openaiBaseUrl:
      read.optionalUrl("OPENAI_BASE_URL") ??
      (openaiApiKey === undefined ? undefined : "https://api.openai.com/v1"),
    anthropicApiKey,
    anthropicBaseUrl:
      read.optionalUrl("ANTHROPIC_BASE_URL") ??
      (anthropicApiKey === undefined ? undefined : "https://api.anthropic.com/v1"),
    // Ollama's well-known local address only once Ollama is asked for.
    ollamaBaseUrl:
      read.optionalUrl("OLLAMA_BASE_URL") ??
      (llmModel.startsWith("ollama:") ? "http://127.0.0.1:11434/v1" : undefined),
    llmTimeoutMs: read.integer("LLM_TIMEOUT_MS", 60_000, { min: 1 }),
    llmIdleTimeoutMs: read.integer("LLM_IDLE_TIMEOUT_MS", 30_000, { min: 1 }),
    llmMaxRetries: read.integer("LLM_MAX_RETRIES", 2, { min: 0, max: 10 }),
    echoDelayMs: read.integer("ECHO_DELAY_MS", 5, { min: 0, max: 10_000 }),
    modelsFile: modelsFile === undefined ? undefined : path.resolve(modelsFile),
    catalog:
      modelsFile === undefined ? undefined : readModelsFile(path.resolve(modelsFile), catalogEnvironment),
    catalogEnvironment,
    maxMessageChars: read.integer("MAX_MESSAGE_CHARS", 32_000, { min: 1 }),
    maxMessages: read.integer("MAX_MESSAGES", 100, { min: 1 }),
    // Every message together, the system prompt and knowledge context included.
    maxInputChars: read.integer("MAX_INPUT_CHARS", 256_000, { min: 1 }),
    // OpenAI's own limit per embeddings request.
    embeddingsMaxInputs: read.integer("EMBEDDINGS_MAX_INPUTS", 2048, { min: 1 }),
    streamStallMs: read.integer("STREAM_STALL_MS", 30_000, { min: 1 }),
    streamPingMs: read.integer("STREAM_PING_MS", 15_000, { min: 1 }),
    maxConcurrentStreams: read.integer("MAX_CONCURRENT_STREAMS", 10_000, { min: 1 }),

    dataDir,
    redisUrl: read.optionalUrl("REDIS_URL"),
    databaseUrl: read.optionalUrl("DATABASE_URL"),
    // Per process: replicas times workers times this must stay under the server's max_connections.
    databasePoolSize: read.integer("DATABASE_POOL_SIZE", 10, { min: 1, max: 1000 }),
    ingestRoot: path.resolve(read.string("INGEST_ROOT", path.join(dataDir, "ingest"))),
    runWorker: read.boolean("RUN_WORKER", true),
    jobConcurrency: read.integer("JOB_CONCURRENCY", 4, { min: 1, max: 256 }),
    jobAttempts: read.integer("JOB_ATTEMPTS", 3, { min: 1, max: 100 }),
    jobRetentionMs: read.integer("JOB_RETENTION_MS", 7 * 24 * 3600 * 1000, { min: 0 }),
    // A worker that stops renewing its lease for this long is taken for dead; its job is retried.
    jobLeaseMs: read.integer("JOB_LEASE_MS", 30_000, { min: 500 }),
    jobBackoffMs: read.integer("JOB_BACKOFF_MS", 1000, { min: 0 }),
    chunkSize,
    chunkOverlap: read.integer("CHUNK_OVERLAP", 150, { min: 0, max: chunkSize - 1 }),
    ingestMaxBytes: read.integer("INGEST_MAX_BYTES", 10 * 1_048_576, { min: 1 }),
    ingestFetchTimeoutMs: read.integer("INGEST_FETCH_TIMEOUT_MS", 15_000, { min: 1 }),
    // Limits of reading a document's text: a PDF's pages, what a DOCX unpacks to, the time it takes.
    ingestMaxPages: read.integer("INGEST_MAX_PAGES", 2000, { min: 1 }),
    ingestMaxUnpackedBytes: read.integer("INGEST_MAX_UNPACKED_BYTES", 100 * 1_048_576, { min: 1 }),
    ingestExtractTimeoutMs: read.integer("INGEST_EXTRACT_TIMEOUT_MS", 60_000, { min: 1 }),
    // The model knowledge chunks and questions are embedded with, as /v1/embeddings names models;
    // set, search is hybrid (full-text and vectors fused), unset it stays full-text.
    embeddingsModel: read.optional("EMBEDDINGS_MODEL"),
    // Chunk text of the whole knowledge store; past it a new document's ingest fails.
    knowledgeMaxBytes: read.integer("KNOWLEDGE_MAX_BYTES", 1024 * 1_048_576, { min: 1 }),
    // A search (and so a chat's grounding) stopped past this answers 503 SEARCH_TIMEOUT.
    searchTimeoutMs: read.integer("SEARCH_TIMEOUT_MS", 3000, { min: 1, max: 600_000 }),
    // Queued jobs past which POST /ingest answers 429 QUEUE_FULL.
    jobsMaxQueued: read.integer("JOBS_MAX_QUEUED", 10_000, { min: 1 }),
    // Events streams open on one job at once.
    jobMaxSubscribers: read.integer("JOB_MAX_SUBSCRIBERS", 100, { min: 1 }),
    // Free space DATA_DIR keeps: below it, ingest answers 507 and /ready fails. 0 turns it off.
    dataDirMinFreeBytes: read.integer("DATA_DIR_MIN_FREE_BYTES", 256 * 1_048_576, { min: 0 }),

    langsmithTracing: read.boolean("LANGSMITH_TRACING", false),
    langsmithApiKey: read.optional("LANGSMITH_API_KEY"),
    langsmithProject: read.optional("LANGSMITH_PROJECT"),
    langsmithEndpoint: read.optionalUrl("LANGSMITH_ENDPOINT"),
    otelExporterOtlpEndpoint: read.optionalUrl("OTEL_EXPORTER_OTLP_ENDPOINT"),
    otelServiceName: read.string("OTEL_SERVICE_NAME", "llm-api-service"),
  };
  return Object.freeze(config);
}

/** The models file, or a ConfigError naming the file, the field and the problem in one line. */
function readModelsFile(file: string, environment: CatalogEnvironment): Catalog {
  try {
    return loadCatalog(file, environment);
  } catch (error) {
    if (error instanceof CatalogError) throw new ConfigError("MODELS_FILE", error.message);
    throw error;
  }
}

/** The values that must never appear in logs, metrics, traces or responses. */
export function secretValues(config: Config): string[] {
  const secrets = [
    config.openaiApiKey,
    config.anthropicApiKey,
    config.langsmithApiKey,
    ...config.apiKeys,
    ...catalogSecretValues(config.catalog),
    config.adminApiKey,
  ];
  for (const url of [config.redisUrl, config.databaseUrl]) {
    const password = url ? new URL(url).password : "";
    if (password) secrets.push(decodeURIComponent(password));
  }
  return secrets.filter((secret): secret is string => typeof secret === "string" && secret.length >= 4);
}

/** The keys of a catalog's deployments (`api_key`), which are secrets like the environment's. */
export function catalogSecretValues(catalog: Catalog | undefined): string[] {
  return (catalog?.models ?? []).flatMap((model) =>
    model.deployments.flatMap((deployment) => (deployment.apiKey === undefined ? [] : [deployment.apiKey])),
  );
}

const secretSets = new WeakMap<Config, SecretSet>();

/**
 * The one secret set of a running config: `secretValues(config)` at first, and the keys of every
 * catalog a reload serves since (the reload adds them). The logger's scrubber and the error
 * bodies' redaction read the same set, so a reloaded key is hidden from both at once.
 */
export function configuredSecrets(config: Config): SecretSet {
  let secrets = secretSets.get(config);
  if (secrets === undefined) {
    secrets = new SecretSet(secretValues(config));
    secretSets.set(config, secrets);
  }
  return secrets;
}

function createReader(environment: Environment) {
  const raw = (name: string): string | undefined => {
    const value = environment[name]?.trim();
    return value === "" ? undefined : value;
  };
  return {
    optional: raw,
    string(name: string, fallback: string): string {
      return raw(name) ?? fallback;
    },
    integer(name: string, fallback: number, bounds: { min?: number; max?: number } = {}): number {
      const value = raw(name);
      if (value === undefined) return fallback;
      if (!/^-?\d+$/.test(value)) throw new ConfigError(name, `must be an integer, got "${value}"`);
      const number = Number(value);
      if (bounds.min !== undefined && number < bounds.min) {
        throw new ConfigError(name, `must be at least ${bounds.min}, got ${number}`);
      }
      if (bounds.max !== undefined && number > bounds.max) {
        throw new ConfigError(name, `must be at most ${bounds.max}, got ${number}`);
      }
      return number;
    },
    boolean(name: string, fallback: boolean): boolean {
      const value = raw(name)?.toLowerCase();
      if (value === undefined) return fallback;
      if (["true", "1", "yes", "on"].includes(value)) return true;
      if (["false", "0", "no", "off"].includes(value)) return false;
      throw new ConfigError(name, `must be true or false, got "${value}"`);
    },
    oneOf<const T extends readonly string[]>(name: string, choices: T, fallback: T[number]): T[number] {
      const value = raw(name)?.toLowerCase();
      if (value === undefined) return fallback;
      if (!choices.includes(value))
        throw new ConfigError(name, `must be one of ${choices.join(", ")}, got "${value}"`);
      return value as T[number];
    },
    optionalInteger(name: string, bounds: { min?: number; max?: number } = {}): number | undefined {
      return raw(name) === undefined ? undefined : this.integer(name, 0, bounds);
    },
    /** A key: long enough that it cannot be guessed, and never shown in the error. */
    secret(name: string): string | undefined {
      const value = raw(name);
      if (value !== undefined && value.length < 16)
        throw new ConfigError(name, "must be at least 16 characters");
      return value;
    },
    fraction(name: string, fallback: number): number {
      const value = raw(name);
      if (value === undefined) return fallback;
      const number = Number(value);
      if (!Number.isFinite(number) || number < 0 || number > 1) {
        throw new ConfigError(name, `must be a number from 0 to 1, got "${value}"`);
      }
      return number;
    },
    prices(name: string): Record<string, ModelPrice> {
      const value = raw(name);
      if (value === undefined) return {};
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch {
        throw new ConfigError(name, 'must be JSON: {"<model>": {"input_per_mtok": n, "output_per_mtok": n}}');
      }
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        throw new ConfigError(name, "must be a JSON object of models");
      }
      const prices: Record<string, ModelPrice> = {};
      for (const [model, price] of Object.entries(parsed)) {
        const fields = ["input_per_mtok", "output_per_mtok", "cached_input_per_mtok"] as const;
        const record = price as Record<string, unknown>;
        for (const field of fields) {
          const amount = record?.[field];
          const required = field !== "cached_input_per_mtok";
          if ((required || amount !== undefined) && (typeof amount !== "number" || !(amount >= 0))) {
            throw new ConfigError(name, `${model}.${field} must be a number of at least 0`);
          }
        }
        const extra = Object.keys(record).filter((key) => !(fields as readonly string[]).includes(key));
        if (extra.length > 0) throw new ConfigError(name, `${model} has unknown fields: ${extra.join(", ")}`);
        prices[model] = record as ModelPrice;
      }
      return prices;
    },
    optionalUrl(name: string): string | undefined {
      const value = raw(name);
      if (value === undefined) return undefined;
      if (!URL.canParse(value)) throw new ConfigError(name, "must be an absolute URL");
      return value;
    },
    list(name: string): string[] {
      return (raw(name) ?? "")
        .split(",")
        .map((item) => item.trim())
        .filter((item) => item.length > 0);
    },
  };
}
