import { type FastifyPluginAsyncTypebox, Type } from "@fastify/type-provider-typebox";
import type { Lifecycle } from "../lifecycle.ts";

export type SystemRoutesOptions = {
  lifecycle: Lifecycle;
  /** Facts about this instance shown on `GET /`. */
  describe: () => Record<string, unknown>;
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
        response: {
          200: Type.Object({ message: Type.String() }, { additionalProperties: true }),
        },
      },
    },
    async () => ({ message: "LLM API Service is running", ...options.describe() }),
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
