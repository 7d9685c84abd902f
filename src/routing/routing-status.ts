import { urlWithoutCredentials } from "../url-without-credentials.ts";
import type { ModelRouter } from "./model-router.ts";

export type DeploymentStatus = {
  id: string;
  provider: string;
  model: string;
  /** Without credentials, query or fragment; null for the provider's own API or the environment's. */
  base_url: string | null;
  weight: number;
  healthy: boolean;
  cooldown_remaining_ms: number;
  in_flight: number;
  max_concurrency: number | null;
  rpm: number | null;
  /** Failed share of its last 100 attempts; null before any. */
  recent_error_rate: number | null;
};

export type ModelStatus = {
  name: string;
  aliases: string[];
  fallbacks: string[];
  strategy: string;
  deployments: DeploymentStatus[];
};

export type RoutingStatus = {
  /** `models file` or `environment` (the implicit one-model catalog). */
  source: "models file" | "environment";
  default_model: string;
  models: ModelStatus[];
};

/** What `GET /models/status` shows: this instance's view of every deployment. Never a key. */
export function routingStatus(router: ModelRouter, now = Date.now()): RoutingStatus {
  const models = router.models();
  const catalog = router.catalog;
  return {
    source: catalog === undefined ? "environment" : "models file",
    default_model: catalog?.defaultModel ?? models[0].name,
    models: models.map((group) => ({
      name: group.name,
      aliases: [...group.aliases],
      fallbacks: [...group.fallbacks],
      strategy: group.strategy,
      deployments: group.deployments.map((deployment) => {
        const { spec } = deployment;
        const cooling = deployment.coolsDown ? deployment.health.cooldownLeftMs(now) : 0;
        return {
          id: spec.id,
          provider: spec.provider,
          model: spec.model,
          base_url: spec.baseUrl === undefined ? null : urlWithoutCredentials(spec.baseUrl),
          weight: spec.weight,
          healthy: cooling === 0,
          cooldown_remaining_ms: cooling,
          in_flight: deployment.inFlight,
          max_concurrency: spec.maxConcurrency ?? null,
          rpm: spec.rpm ?? null,
          recent_error_rate: deployment.recentErrorRate() ?? null,
        };
      }),
    })),
  };
}
