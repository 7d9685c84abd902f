import { type ELDHistogram, monitorEventLoopDelay } from "node:perf_hooks";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { AllocationFreeCounter, type CounterSeries } from "./allocation-free-counter.ts";
import { AllocationFreeHistogram, type HistogramSeries } from "./allocation-free-histogram.ts";

/** Bucket boundaries advised by the OpenTelemetry GenAI semantic conventions. */
export const GenAiBuckets = {
  tokenUsage: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864],
  operationDuration: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
  timePerOutputChunk: [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5],
} as const;

/** HTTP latency: sub-millisecond system routes up to multi-minute streams. */
const HTTP_DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** The service's own share of a model request: what the benchmark's overhead target is about. */
const OVERHEAD_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
const JOB_DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];

/** Job states a finished job or a queue can be in; anything else is reported as `other`. */
export const JobStates = ["queued", "running", "completed", "failed", "cancelled"] as const;

/** Counts of jobs per state, read when Prometheus scrapes (e.g. a `COUNT(*) GROUP BY state`). */
export type JobQueueDepthSource = () => Promise<Partial<Record<string, number>>>;

/** The knowledge store's size in bytes of text, read when Prometheus scrapes. */
export type KnowledgeStoreBytesSource = () => Promise<number>;

/** How often the event-loop delay is sampled: fine enough to see a 50 ms stall, cheap enough to leave on. */
const EVENT_LOOP_SAMPLE_MS = 10;
/** `DATA_DIR`'s free bytes, read when Prometheus scrapes (`fs.statfs`). */
export type DataDirFreeBytesSource = () => Promise<number>;

/** The open streams and their cap (`MAX_CONCURRENT_STREAMS`), read when Prometheus scrapes. */
export type StreamSlotsSource = { readonly active: number; readonly limit: number };

/** Each quota's limit, and where its current value is read. */
export type QuotaSources = {
  jobsMaxQueued: number;
  dataDirMinFreeBytes: number;
  jobMaxSubscribers: number;
  dataDirFreeBytes?: DataDirFreeBytesSource;
  streamSlots?: StreamSlotsSource;
};

const LINT_FAILING_DEFAULT_METRICS = [
  "nodejs_active_handles_total",
  "nodejs_active_requests_total",
  "nodejs_active_resources_total",
];

/**
 * Every metric the service exports, in one prom-client Registry owned by one app instance (not the
 * global registry, so several apps in one process, as in tests, never collide).
 */
export class MetricsRegistry {
  readonly registry = new Registry();

  // Counted on every request, so allocation-free (see allocation-free-counter.ts).
  readonly httpRequests = new AllocationFreeCounter({
    name: "http_requests_total",
    help: "HTTP requests answered, by method, route template and status.",
    registry: this.registry,
  });
  readonly httpRequestDuration = new AllocationFreeHistogram({
    name: "http_request_duration_seconds",
    help: "Time from receiving an HTTP request to the end of its response, by route template.",
    buckets: HTTP_DURATION_BUCKETS,
    registry: this.registry,
  });

  // Observed on every model call, so allocation-free like the HTTP metrics.
  readonly tokenUsage = new AllocationFreeHistogram({
    name: "gen_ai_client_token_usage",
    help: "Number of input and output tokens used per model call (OpenTelemetry gen_ai.client.token.usage).",
    buckets: GenAiBuckets.tokenUsage,
    registry: this.registry,
  });
  readonly operationDuration = new AllocationFreeHistogram({
    name: "gen_ai_client_operation_duration_seconds",
    help: "Duration of a model call, retries included (OpenTelemetry gen_ai.client.operation.duration).",
    buckets: GenAiBuckets.operationDuration,
    registry: this.registry,
  });
  readonly timeToFirstChunk = new AllocationFreeHistogram({
    name: "gen_ai_client_operation_time_to_first_chunk_seconds",
    help: "Time from issuing a streaming model call to its first chunk (OpenTelemetry gen_ai.client.operation.time_to_first_chunk).",
    buckets: GenAiBuckets.operationDuration,
    registry: this.registry,
  });
  readonly timePerOutputChunk = new AllocationFreeHistogram({
    name: "gen_ai_client_operation_time_per_output_chunk_seconds",
    help: "Time between consecutive chunks of a streaming model call (OpenTelemetry gen_ai.client.operation.time_per_output_chunk).",
    buckets: GenAiBuckets.timePerOutputChunk,
    registry: this.registry,
  });

  readonly activeStreams = new Gauge({
    name: "llm_api_active_streams",
    help: "Streaming model calls in progress.",
    registers: [this.registry],
  });
  readonly clientDisconnects = new Counter({
    name: "llm_api_client_disconnects_total",
    help: "Responses cut short because the client went away, by route template.",
    labelNames: ["path"] as const,
    registers: [this.registry],
  });
  readonly upstreamRetries = new Counter({
    name: "llm_api_upstream_retries_total",
    help: "Model calls retried, by provider and reason.",
    labelNames: ["gen_ai_provider_name", "reason"] as const,
    registers: [this.registry],
  });
  readonly upstreamErrors = new Counter({
    name: "llm_api_upstream_errors_total",
    help: "Model calls that failed, by provider and error type.",
    labelNames: ["gen_ai_provider_name", "error_type"] as const,
    registers: [this.registry],
  });
  readonly rejectedRequests = new Counter({
    name: "llm_api_rejected_requests_total",
    help: "Requests refused with 429, 503 or 507 (too many streams, queue full, low on storage, shutting down), by reason.",
    labelNames: ["status", "reason"] as const,
    registers: [this.registry],
  });
  readonly overhead = new AllocationFreeHistogram({
    name: "llm_api_overhead_seconds",
    help: "Time a request that called a model spent outside the model calls: the latency the service adds.",
    buckets: OVERHEAD_BUCKETS,
    registry: this.registry,
  });

  readonly jobs = new Counter({
    name: "llm_api_jobs_total",
    help: "Jobs that reached a final state, by type and state.",
    labelNames: ["type", "state"] as const,
    registers: [this.registry],
  });
  readonly jobDuration = new Histogram({
    name: "llm_api_job_duration_seconds",
    help: "Time from a job starting to its final state, by type and state.",
    labelNames: ["type", "state"] as const,
    buckets: JOB_DURATION_BUCKETS,
    registers: [this.registry],
  });
  readonly jobQueueDepth: Gauge<"state">;
  #jobQueueDepthSource: JobQueueDepthSource | undefined;

  readonly knowledgeStoreBytes: Gauge;
  #knowledgeStoreBytesSource: KnowledgeStoreBytesSource | undefined;
  readonly knowledgeStoreMaxBytes = new Gauge({
    name: "llm_api_knowledge_store_max_bytes",
    help: "The knowledge store's cap on its text, in bytes (KNOWLEDGE_MAX_BYTES).",
    registers: [this.registry],
  });

  readonly #eventLoopDelay: ELDHistogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_SAMPLE_MS });
  readonly eventLoopDelayP99: Gauge;
  readonly eventLoopDelayMax: Gauge;
  // Each quota beside what it limits: queued jobs (llm_api_job_queue_depth{state="queued"}), the
  // data dir's free bytes, open streams. Refusals are counted in llm_api_rejected_requests_total.
  readonly jobQueueMaxQueued = new Gauge({
    name: "llm_api_job_queue_max_queued",
    help: "JOBS_MAX_QUEUED: queued jobs past which POST /ingest answers 429 QUEUE_FULL.",
    registers: [this.registry],
  });
  readonly jobMaxSubscribers = new Gauge({
    name: "llm_api_job_max_subscribers",
    help: "JOB_MAX_SUBSCRIBERS: events streams one job may have open at once.",
    registers: [this.registry],
  });
  readonly dataDirMinFreeBytes = new Gauge({
    name: "llm_api_data_dir_min_free_bytes",
    help: "DATA_DIR_MIN_FREE_BYTES: free space below which ingest answers 507 and /ready fails.",
    registers: [this.registry],
  });
  readonly dataDirFreeBytes: Gauge;
  #dataDirFreeBytesSource: DataDirFreeBytesSource | undefined;
  readonly streamSlotsUsed: Gauge;
  readonly streamSlotsLimit: Gauge;
  #streamSlotsSource: StreamSlotsSource | undefined;
  /** Series looked up once per label set; bounded, as every label value is (route templates, statuses, methods). */
  readonly #requestCounters = new Map<string, CounterSeries>();
  readonly #requestDurations = new Map<string, HistogramSeries>();
  readonly #overheadByPath = new Map<string, HistogramSeries>();

  constructor() {
    const metrics = this;
    this.jobQueueDepth = new Gauge({
      name: "llm_api_job_queue_depth",
      help: "Jobs in the queue, by state, read at scrape time.",
      labelNames: ["state"] as const,
      registers: [this.registry],
      async collect() {
        const source = metrics.#jobQueueDepthSource;
        if (source === undefined) return;
        // A queue that cannot answer leaves the last values rather than failing the whole scrape.
        const counts = await source().catch(() => undefined);
        if (counts === undefined) return;
        for (const state of JobStates) this.labels(state).set(counts[state] ?? 0);
      },
    });
    this.knowledgeStoreBytes = new Gauge({
      name: "llm_api_knowledge_store_bytes",
      help: "Bytes of text in the knowledge store, documents being written included, read at scrape time.",
      registers: [this.registry],
      async collect() {
        const source = metrics.#knowledgeStoreBytesSource;
        if (source === undefined) return;
        const bytes = await source().catch(() => undefined);
        if (bytes !== undefined) this.set(bytes);
      },
    });
    // Our own histogram over the window between two scrapes, apart from prom-client's
    // nodejs_eventloop_lag_* (whose window is shared with its other default metrics).
    this.#eventLoopDelay.enable();
    this.eventLoopDelayP99 = new Gauge({
      name: "llm_api_event_loop_delay_p99_seconds",
      help: `99th percentile of the event loop's delay since the previous scrape (perf_hooks.monitorEventLoopDelay, sampled every ${EVENT_LOOP_SAMPLE_MS} ms): how long a request may wait before it is even read.`,
      registers: [this.registry],
      collect() {
        metrics.#collectEventLoopDelay();
      },
    });
    this.eventLoopDelayMax = new Gauge({
      name: "llm_api_event_loop_delay_max_seconds",
      help: "Longest event loop delay since the previous scrape (perf_hooks.monitorEventLoopDelay).",
      registers: [this.registry],
    });
    this.dataDirFreeBytes = new Gauge({
      name: "llm_api_data_dir_free_bytes",
      help: "Bytes still free for the service on DATA_DIR's file system, read at scrape time.",
      registers: [this.registry],
      async collect() {
        const source = metrics.#dataDirFreeBytesSource;
        if (source === undefined) return;
        const free = await source().catch(() => undefined);
        if (free !== undefined) this.set(free);
      },
    });
    this.streamSlotsUsed = new Gauge({
      name: "llm_api_stream_slots_used",
      help: "Streams open (chat streams and job events streams), against llm_api_stream_slots_limit.",
      registers: [this.registry],
      collect() {
        const slots = metrics.#streamSlotsSource;
        if (slots !== undefined) this.set(slots.active);
      },
    });
    this.streamSlotsLimit = new Gauge({
      name: "llm_api_stream_slots_limit",
      help: "MAX_CONCURRENT_STREAMS: streams open at once before new ones get 429 TOO_MANY_STREAMS.",
      registers: [this.registry],
      collect() {
        const slots = metrics.#streamSlotsSource;
        if (slots !== undefined) this.set(slots.limit);
      },
    });
    collectDefaultMetrics({ register: this.registry });
    // These gauges end in `_total`, which `promtool check metrics` rejects as a counter's suffix;
    // each is the sum of its per-type sibling (`nodejs_active_handles{type}`), which stays.
    for (const name of LINT_FAILING_DEFAULT_METRICS) this.registry.removeSingleMetric(name);
  }

  /** Where the queue depth gauge reads from; the job queue calls this once it exists. */
  setJobQueueDepthSource(source: JobQueueDepthSource): void {
    this.#jobQueueDepthSource = source;
  }

  /** Where the knowledge store size gauge reads from, and the store's cap. */
  setKnowledgeStore(source: KnowledgeStoreBytesSource, maxBytes: number): void {
    this.#knowledgeStoreBytesSource = source;
    this.knowledgeStoreMaxBytes.set(maxBytes);
  }

  /** Both event-loop gauges from one read of the window, which then starts again. */
  #collectEventLoopDelay(): void {
    const histogram = this.#eventLoopDelay;
    // Before the first sample the histogram reads as NaN/huge; report 0 rather than nonsense.
    const sampled = histogram.count > 0;
    this.eventLoopDelayP99.set(sampled ? histogram.percentile(99) / 1e9 : 0);
    this.eventLoopDelayMax.set(sampled ? histogram.max / 1e9 : 0);
    histogram.reset();
  }

  /** Stops sampling the event loop. */
  close(): void {
    this.#eventLoopDelay.disable();
  }

  /** The quotas' limits, and where their current values are read at each scrape. */
  setQuotas(quotas: QuotaSources): void {
    this.jobQueueMaxQueued.set(quotas.jobsMaxQueued);
    this.jobMaxSubscribers.set(quotas.jobMaxSubscribers);
    this.dataDirMinFreeBytes.set(quotas.dataDirMinFreeBytes);
    this.#dataDirFreeBytesSource = quotas.dataDirFreeBytes;
    this.#streamSlotsSource = quotas.streamSlots;
  }

  /** One answered HTTP request: `path` is its route template, `status` its status code as text. */
  recordHttpRequest(method: string, path: string, status: string, seconds: number): void {
    const durationKey = `${method} ${path}`;
    cached(this.#requestCounters, `${durationKey} ${status}`, () =>
      this.httpRequests.series({ method, path, status }),
    ).inc();
    cached(this.#requestDurations, durationKey, () =>
      this.httpRequestDuration.series({ method, path }),
    ).observe(seconds);
  }

  /** The time a model request spent outside its model calls, by route template. */
  recordOverhead(path: string, seconds: number): void {
    cached(this.#overheadByPath, path, () => this.overhead.series({ path })).observe(seconds);
  }

  /**
   * A job reached `state` (completed, failed or cancelled) after `durationSeconds` of running, or
   * with no duration when the queue's recovery ended it (no run was alive to time it).
   */
  jobFinished(type: string, state: string, durationSeconds: number | undefined): void {
    const boundedState = (JobStates as readonly string[]).includes(state) ? state : "other";
    this.jobs.labels(type, boundedState).inc();
    if (durationSeconds !== undefined && Number.isFinite(durationSeconds) && durationSeconds >= 0) {
      this.jobDuration.labels(type, boundedState).observe(durationSeconds);
    }
  }

  /** The text Prometheus scrapes. */
  exposition(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** The entry for `key`, made by `create` the first time it is asked for. */
function cached<T>(entries: Map<string, T>, key: string, create: () => T): T {
  let entry = entries.get(key);
  if (entry === undefined) {
    entry = create();
    entries.set(key, entry);
  }
  return entry;
}
