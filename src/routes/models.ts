import { type FastifyPluginAsyncTypebox, Type } from "@fastify/type-provider-typebox";
import type { ModelRouter } from "../routing/model-router.ts";
import { routingStatus } from "../routing/routing-status.ts";

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);

const DeploymentStatus = Type.Object({
  id: Type.String(),
  provider: Type.String(),
  model: Type.String(),
  base_url: Nullable(Type.String()),
  weight: Type.Number(),
  healthy: Type.Boolean(),
  cooldown_remaining_ms: Type.Integer(),
  in_flight: Type.Integer(),
  max_concurrency: Nullable(Type.Integer()),
  rpm: Nullable(Type.Integer()),
  recent_error_rate: Nullable(Type.Number()),
});

const RoutingStatus = Type.Object({
  source: Type.String(),
  default_model: Type.String(),
  models: Type.Array(
    Type.Object({
      name: Type.String(),
      aliases: Type.Array(Type.String()),
      fallbacks: Type.Array(Type.String()),
      strategy: Type.String(),
      deployments: Type.Array(DeploymentStatus),
    }),
  ),
});

export type ModelRoutesOptions = { router: ModelRouter };

/** `GET /models/status`: each model's deployments as this instance sees them (health is per instance). */
export const modelRoutes: FastifyPluginAsyncTypebox<ModelRoutesOptions> = async (app, options) => {
  app.get(
    "/models/status",
    {
      schema: {
        tags: ["models"],
        summary: "Each model's deployments: health, cooldown left, requests in flight, recent error rate",
        response: { 200: RoutingStatus },
      },
    },
    async () => routingStatus(options.router),
  );
};
