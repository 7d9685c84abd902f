import type { FastifyInstance } from "fastify";
import fastifyPlugin from "fastify-plugin";
import { routeLabel } from "./route-label.ts";

/**
 * Echoes the request id on every response (404s, errors and streams included: the header is set
 * before any handler runs) and writes one log line per finished request.
 */
export const requestLoggingPlugin = fastifyPlugin(
  async function requestLogging(app: FastifyInstance) {
    app.addHook("onRequest", async (request, reply) => {
      reply.header("x-request-id", request.id);
    });
    app.addHook("onResponse", async (request, reply) => {
      request.log.info(
        {
          method: request.method,
          path: routeLabel(request),
          status: reply.statusCode,
          duration_ms: Math.round(reply.elapsedTime * 100) / 100,
        },
        "request completed",
      );
    });
  },
  { name: "request-logging" },
);
