import type { FastifyInstance } from "fastify";
import fastifyPlugin from "fastify-plugin";
import type { Lifecycle } from "../lifecycle.ts";
import { ServiceError } from "./service-error.ts";

const PROBE_PATHS = new Set(["/health", "/ready"]);

/**
 * While shutting down, a request that arrives on a kept-alive connection is refused with 503 and
 * `Connection: close`, so the client retries elsewhere and the socket does not hold the exit.
 * In-flight requests are not touched.
 */
export const drainingPlugin = fastifyPlugin(
  async function draining(app: FastifyInstance, options: { lifecycle: Lifecycle }) {
    app.addHook("onRequest", async (request, reply) => {
      if (!options.lifecycle.isDraining) return;
      reply.header("connection", "close");
      if (PROBE_PATHS.has(request.url.split("?")[0])) return;
      throw new ServiceError({
        code: "SHUTTING_DOWN",
        message: "The service is shutting down; retry on another instance.",
        retryAfterSeconds: 1,
      });
    });
    // A response already in flight when draining began tells its client not to reuse the socket.
    app.addHook("onSend", async (_request, reply) => {
      if (options.lifecycle.isDraining) reply.header("connection", "close");
    });
  },
  { name: "draining" },
);
