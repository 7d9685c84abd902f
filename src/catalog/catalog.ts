import type { ProviderName } from "../llm/create-providers.ts";

/** How a model's deployments are chosen among the healthy ones. */
export const RoutingStrategies = ["weighted", "least-busy"] as const;
export type RoutingStrategy = (typeof RoutingStrategies)[number];

/** One upstream that can serve a model: a provider, its model id, where it is and its caps. */
export type DeploymentSpec = Readonly<{
  /** Shown in logs, metrics, headers and `/models/status`; the index when the file gives none. */
  id: string;
  provider: ProviderName;
  /** The model as the provider knows it. */
  model: string;
  /** Undefined: the provider's own API (OpenAI's, Anthropic's, a local Ollama's). */
  baseUrl: string | undefined;
  apiKey: string | undefined;
  /** Share of the traffic under the weighted strategy, relative to the other deployments. */
  weight: number;
  maxConcurrency: number | undefined;
  /** Requests started per rolling minute. */
  rpm: number | undefined;
  /** Time to the first byte; `LLM_TIMEOUT_MS` when undefined. */
  timeoutMs: number | undefined;
}>;

/** Dollars per million tokens, for whoever prices usage (budgets, the usage ledger). */
export type ModelPrice = Readonly<{
  inputPerMtok: number;
  outputPerMtok: number;
  cachedInputPerMtok: number | undefined;
}>;

export type CatalogModel = Readonly<{
  /** What clients send as `model`. */
  name: string;
  aliases: readonly string[];
  deployments: readonly DeploymentSpec[];
  /** Other models' names, tried in order once every deployment of this one failed. */
  fallbacks: readonly string[];
  price: ModelPrice | undefined;
  /** The model serves `POST /v1/embeddings`. */
  embeddings: boolean;
}>;

export type RouterSettings = Readonly<{
  strategy: RoutingStrategy;
  cooldown: Readonly<{ initialMs: number; maxMs: number }>;
}>;

/** The models file, validated: every name unique, every fallback known and loop-free. */
export type Catalog = Readonly<{
  /** The file it was read from. */
  file: string;
  format: "models" | "litellm";
  /** The model of a request that names none. */
  defaultModel: string;
  router: RouterSettings;
  models: readonly CatalogModel[];
  /** What the file says that is not supported (LiteLLM keys we ignore), for one warning at start. */
  warnings: readonly string[];
}>;

export const DEFAULT_ROUTER_SETTINGS: RouterSettings = Object.freeze({
  strategy: "weighted",
  cooldown: Object.freeze({ initialMs: 1000, maxMs: 60_000 }),
});

/** The model a name or alias stands for. */
export function findCatalogModel(catalog: Catalog, name: string): CatalogModel | undefined {
  return catalog.models.find((model) => model.name === name || model.aliases.includes(name));
}
