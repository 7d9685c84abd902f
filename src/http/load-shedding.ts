import underPressure from "@fastify/under-pressure";
import type { FastifyInstance, FastifyRequest } from "fastify";
import fastifyPlugin from "fastify-plugin";
import { ServiceError } from "../errors/service-error.ts";

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
 */
export const loadSheddingPlugin = fastifyPlugin(
  async function loadShedding(app: FastifyInstance, options: LoadSheddingOptions) {
    await app.register(underPressure, {
      maxEventLoopDelay: options.maxEventLoopDelayMs,
      maxEventLoopUtilization: options.maxEventLoopUtilization,
      // Utilisation of the last sample, not since start: a blocked second shows as ~1.
      eventLoopUtilizationMode: "interval",
      maxHeapUsedBytes: options.maxHeapUsedBytes,
      maxRssBytes: options.maxRssBytes,
      sampleInterval: SAMPLE_INTERVAL_MS,
      exposeStatusRoute: false,
      pressureHandler: (request: FastifyRequest, _reply, type: string) => {
        if (NEVER_SHED.has(request.url.split("?")[0])) return undefined;
        return Promise.reject(
          new ServiceError({
            code: "OVERLOADED",
            message: "This instance is overloaded; retry shortly or elsewhere.",
            retryAfterSeconds: Math.ceil(SAMPLE_INTERVAL_MS / 1000) + 1,
            cause: new Error(`under pressure: ${type}`),
          }),
        );
      },
    });
  },
  {
    name: "load-shedding",
    // Its refusals are measured, logged and sent in our envelope.
    dependencies: ["request-logging", "request-observation", "error-handler"],
  },
);
