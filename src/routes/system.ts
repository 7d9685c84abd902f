import { type FastifyPluginAsyncTypebox, Type } from "@fastify/type-provider-typebox";
import { asksForHtml } from "../http/console-request.ts";
import type { Lifecycle } from "../lifecycle.ts";

export type SystemRoutesOptions = {
  lifecycle: Lifecycle;
  /** Facts about this instance shown on `GET /`. */
  describe: () => Record<string, unknown>;
  /** Where a browser asking `/` for HTML is sent (the web console); without it, `/` is JSON to all. */
  consolePath?: string;
};

const ReadyBody = Type.Object({
  status: Type.String({ description: "ready, starting, draining or not_ready" }),
  failing: Type.Optional(Type.Array(Type.String(), { description: "dependencies that failed their check" })),
  degraded: Type.Optional(
    Type.Array(Type.String(), {
      description:
        "ways the instance serves worse but still serves, e.g. `rate_limits_per_replica` while Redis is unreachable",
    }),
  ),
});

/** `/`, `/health` (liveness) and `/ready` (readiness). */
export const systemRoutes: FastifyPluginAsyncTypebox<SystemRoutesOptions> = async (app, options) => {
  app.get(
    "/",
    {
      schema: {
        tags: ["system"],
        summary: "Service banner",
        description:
          "JSON to API clients; a browser asking for `text/html` is redirected to the web console.",
        response: {
          200: Type.Object({ message: Type.String() }, { additionalProperties: true }),
          302: Type.Null({ description: "to the web console, for a browser" }),
        },
      },
    },
    async (request, reply) => {
      const { consolePath } = options;
      // The answer depends on Accept, so a cache must not give a browser's redirect to curl.
      if (consolePath !== undefined) reply.header("vary", "accept");
      if (consolePath !== undefined && asksForHtml(request)) return reply.redirect(consolePath, 302);
      return { message: "LLM API Service is running", ...options.describe() };
    },
  );

  app.get(
    "/health",
    {
      schema: {
        tags: ["system"],
        summary: "Liveness: the process answers",
        response: { 200: Type.Object({ status: Type.Literal("ok") }) },
      },
    },
    async () => ({ status: "ok" as const }),
  );

  app.get(
    "/ready",
    {
      schema: {
        tags: ["system"],
        summary: "Readiness: 200 when the instance can serve, 503 while starting, draining or degraded",
        response: { 200: ReadyBody, 503: ReadyBody },
      },
    },
    async (_request, reply) => {
      if (options.lifecycle.state !== "ready") {
        return reply.code(503).send({ status: options.lifecycle.state });
      }
      const failing = await options.lifecycle.failingChecks();
      const degraded = options.lifecycle.degradations();
      if (failing.length > 0) {
        return reply
          .code(503)
          .send({ status: "not_ready", failing, ...(degraded.length > 0 ? { degraded } : {}) });
      }
      return degraded.length > 0 ? { status: "ready", degraded } : { status: "ready" };
    },
  );
};
