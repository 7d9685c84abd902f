import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { MetricsRegistry } from "../observability/metrics-registry.ts";

export type MetricsRoutesOptions = { metrics: MetricsRegistry };

/** `GET /metrics`: the Prometheus text format, for a scraper. */
export const metricsRoutes: FastifyPluginAsyncTypebox<MetricsRoutesOptions> = async (app, options) => {
  app.get(
    "/metrics",
    {
      schema: {
        tags: ["observability"],
        summary: "Prometheus metrics (text exposition format)",
        produces: ["text/plain"],
      },
    },
    async (_request, reply) => {
      const body = await options.metrics.exposition();
      return reply.type(options.metrics.contentType).send(body);
    },
  );
};
