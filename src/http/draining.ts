import type { FastifyInstance } from "fastify";
import fastifyPlugin from "fastify-plugin";
import { ServiceError } from "../errors/service-error.ts";
import type { Lifecycle } from "../lifecycle.ts";
import { urlPath } from "./url-path.ts";

const PROBE_PATHS = new Set(["/health", "/ready"]);

/**
 * While shutting down, a request that arrives on a kept-alive connection is refused with 503 and
 * `Connection: close`, so the client retries elsewhere and the socket does not hold the exit.
 * In-flight requests are not touched.
 */
export const drainingPlugin = fastifyPlugin(
  async function draining(app: FastifyInstance, options: { lifecycle: Lifecycle }) {
    // Callback-style hooks: an async hook costs every request a promise, and these run on all.
    app.addHook("onRequest", (request, reply, done) => {
      if (!options.lifecycle.isDraining) return done();
      reply.header("connection", "close");
      if (PROBE_PATHS.has(urlPath(request.url))) return done();
      done(
        new ServiceError({
          code: "SHUTTING_DOWN",
          message: "The service is shutting down; retry on another instance.",
          retryAfterSeconds: 1,
        }),
      );
    });
    // A response already in flight when draining began tells its client not to reuse the socket.
    app.addHook("onSend", (_request, reply, payload, done) => {
      if (options.lifecycle.isDraining) reply.header("connection", "close");
      done(null, payload);
    });
  },
  {
    name: "draining",
    // Its refusals carry the request id, are measured and traced, and are sent in our envelope.
    dependencies: ["request-logging", "request-observation", "error-handler"],
  },
);
