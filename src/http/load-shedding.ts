import underPressure from "@fastify/under-pressure";
import type { FastifyInstance } from "fastify";
import fastifyPlugin from "fastify-plugin";
import { ServiceError } from "../errors/service-error.ts";
import { urlPath } from "./url-path.ts";

export type LoadSheddingOptions = {
  /** Mean event-loop delay over a sample, in ms; 0 for no limit. */
  maxEventLoopDelayMs: number;
  /** Event-loop utilisation over the last sample (0-1); 0 for no limit. */
  maxEventLoopUtilization: number;
  maxHeapUsedBytes: number;
  maxRssBytes: number;
};

/** Probes and scrapes keep answering under pressure: an orchestrator must still see the process live. */
const NEVER_SHED = new Set(["/health", "/ready", "/metrics"]);

/** How often the load is sampled, and so how soon a retry can find it gone. */
const SAMPLE_INTERVAL_MS = 1000;

/**
 * Past a threshold (`MAX_EVENT_LOOP_DELAY_MS`, `MAX_EVENT_LOOP_UTILIZATION`, `MAX_HEAP_USED_BYTES`,
 * `MAX_RSS_BYTES`), API routes answer 503 OVERLOADED with `Retry-After` at once, before any work,
 * so an overloaded instance sheds load instead of queueing it.
 *
 * `@fastify/under-pressure` samples the load; the check is our own hook. Its own hook reads
 * `request.routeOptions` on every request, which Fastify builds anew each time it is read.
 */
export const loadSheddingPlugin = fastifyPlugin(
  async function loadShedding(app: FastifyInstance, options: LoadSheddingOptions) {
    // With every threshold off nothing reads a sample, so nothing is sampled: the sampler's work
    // each second (the event-loop delay histogram's mean walks all of its buckets) would be waste.
    if (
      options.maxEventLoopDelayMs <= 0 &&
      options.maxEventLoopUtilization <= 0 &&
      options.maxHeapUsedBytes <= 0 &&
      options.maxRssBytes <= 0
    ) {
      return;
    }
    // No thresholds given to the plugin: it samples, and adds no hook of its own.
    await app.register(underPressure, {
      // Utilisation of the last sample, not since start: a blocked second shows as ~1.
      eventLoopUtilizationMode: "interval",
      sampleInterval: SAMPLE_INTERVAL_MS,
      exposeStatusRoute: false,
    });
    app.addHook("onRequest", (request, _reply, done) => {
      const pressure = pressureOf(app.memoryUsage(), options);
      if (pressure === undefined || NEVER_SHED.has(urlPath(request.url))) return done();
      done(
        new ServiceError({
          code: "OVERLOADED",
          message: "This instance is overloaded; retry shortly or elsewhere.",
          retryAfterSeconds: Math.ceil(SAMPLE_INTERVAL_MS / 1000) + 1,
          cause: new Error(`under pressure: ${pressure}`),
        }),
      );
    });
  },
  {
    name: "load-shedding",
    // Its refusals are measured, logged and sent in our envelope.
    dependencies: ["request-logging", "request-observation", "error-handler"],
  },
);

type LoadSample = ReturnType<FastifyInstance["memoryUsage"]>;

/** The threshold the last sample is past, named as under-pressure names it, or undefined. */
function pressureOf(sample: LoadSample, limits: LoadSheddingOptions): string | undefined {
  if (limits.maxEventLoopDelayMs > 0 && sample.eventLoopDelay > limits.maxEventLoopDelayMs) {
    return "eventLoopDelay";
  }
  if (limits.maxHeapUsedBytes > 0 && sample.heapUsed > limits.maxHeapUsedBytes) return "heapUsedBytes";
  if (limits.maxRssBytes > 0 && sample.rssBytes > limits.maxRssBytes) return "rssBytes";
  if (limits.maxEventLoopUtilization > 0 && sample.eventLoopUtilized > limits.maxEventLoopUtilization) {
    return "eventLoopUtilization";
  }
  return undefined;
}
