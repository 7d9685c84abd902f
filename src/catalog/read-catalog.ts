import { ProviderNames } from "../llm/create-providers.ts";
import {
  type Catalog,
  type CatalogModel,
  DEFAULT_ROUTER_SETTINGS,
  type DeploymentSpec,
  type ModelPrice,
  type RouterSettings,
  RoutingStrategies,
} from "./catalog.ts";
import { FieldReader, type LocateField } from "./field-reader.ts";

export type ReadCatalogOptions = {
  file: string;
  format: Catalog["format"];
  /** Maps a field's path in the models format to the file's own (LiteLLM's); identity otherwise. */
  locate?: LocateField;
  warnings?: readonly string[];
};

const TOP_FIELDS = ["default", "router", "models"] as const;
const MODEL_FIELDS = ["name", "aliases", "deployments", "fallbacks", "price", "embeddings"] as const;
const DEPLOYMENT_FIELDS = [
  "id",
  "provider",
  "model",
  "base_url",
  "api_key",
  "weight",
  "max_concurrency",
  "rpm",
  "timeout_ms",
] as const;

/**
 * The parsed models file (variables already expanded) as a Catalog, or a CatalogError naming the
 * first problem: a missing or mistyped field, an unknown provider, a name used twice, a fallback
 * to an unknown model, a fallback loop.
 */
export function readCatalog(parsed: unknown, options: ReadCatalogOptions): Catalog {
  const top = new FieldReader(options.file, "", parsed, options.locate ?? ((field) => field));
  top.only(TOP_FIELDS);
  const router = readRouter(top);
  const models = top.list("models", { required: true }).map(readModel);

  // Names and aliases share one namespace: each must say which model it means.
  const owners = new Map<string, number>();
  models.forEach((model, index) => {
    const claim = (name: string, field: string) => {
      const owner = owners.get(name);
      if (owner !== undefined) {
        throw top.problemAt(field, `"${name}" is already the name or an alias of models[${owner}]`);
      }
      owners.set(name, index);
    };
    claim(model.name, `models[${index}].name`);
    for (const [aliasIndex, alias] of model.aliases.entries()) {
      claim(alias, `models[${index}].aliases[${aliasIndex}]`);
    }
  });
  const canonical = (name: string) => {
    const owner = owners.get(name);
    return owner === undefined ? undefined : models[owner].name;
  };

  const resolved = models.map((model, index) => ({
    ...model,
    fallbacks: model.fallbacks.map((name, fallbackIndex) => {
      const target = canonical(name);
      if (target === undefined) {
        throw top.problemAt(
          `models[${index}].fallbacks[${fallbackIndex}]`,
          `"${name}" is not a model of this file`,
        );
      }
      return target;
    }),
  }));
  checkFallbackLoops(resolved, (field, problem) => top.problemAt(field, problem));

  const defaultName = top.string("default");
  let defaultModel = resolved[0].name;
  if (defaultName !== undefined) {
    const target = canonical(defaultName);
    if (target === undefined) throw top.problem("default", `"${defaultName}" is not a model of this file`);
    defaultModel = target;
  }

  return Object.freeze({
    file: options.file,
    format: options.format,
    defaultModel,
    router,
    models: Object.freeze(resolved.map((model) => Object.freeze(model))),
    warnings: Object.freeze([...(options.warnings ?? [])]),
  });
}

function readRouter(top: FieldReader): RouterSettings {
  const router = top.object("router");
  if (router === undefined) return DEFAULT_ROUTER_SETTINGS;
  router.only(["strategy", "cooldown"]);
  const cooldown = router.object("cooldown");
  cooldown?.only(["initial_ms", "max_ms"]);
  const initialMs =
    cooldown?.number("initial_ms", { min: 1, integer: true }) ?? DEFAULT_ROUTER_SETTINGS.cooldown.initialMs;
  const maxMs = cooldown?.number("max_ms", { min: 1, integer: true }) ?? Math.max(initialMs, 60_000);
  if (cooldown !== undefined && maxMs < initialMs) {
    throw cooldown.problem("max_ms", `must be at least initial_ms (${initialMs}), got ${maxMs}`);
  }
  return Object.freeze({
    strategy: router.oneOf("strategy", RoutingStrategies) ?? DEFAULT_ROUTER_SETTINGS.strategy,
    cooldown: Object.freeze({ initialMs, maxMs }),
  });
}

function readModel(model: FieldReader): CatalogModel {
  model.only(MODEL_FIELDS);
  const deployments = model.list("deployments", { required: true }).map(readDeployment);
  const ids = new Map<string, number>();
  deployments.forEach((deployment, index) => {
    const earlier = ids.get(deployment.id);
    if (earlier !== undefined) {
      throw model.problemAt(
        `${model.path}.deployments[${index}].id`,
        `"${deployment.id}" is already the id of deployments[${earlier}]`,
      );
    }
    ids.set(deployment.id, index);
  });
  return {
    name: model.requiredString("name"),
    aliases: Object.freeze(model.strings("aliases")),
    deployments: Object.freeze(deployments),
    fallbacks: Object.freeze(model.strings("fallbacks")),
    price: readPrice(model.object("price")),
    embeddings: model.boolean("embeddings") ?? false,
  };
}

function readDeployment(deployment: FieldReader, index: number): DeploymentSpec {
  deployment.only(DEPLOYMENT_FIELDS);
  const provider = deployment.oneOf("provider", ProviderNames);
  if (provider === undefined) throw deployment.problem("provider", "is required");
  const model =
    provider === "echo" ? (deployment.string("model") ?? "echo") : deployment.requiredString("model");
  const baseUrl = deployment.url("base_url");
  if (provider === "echo" && baseUrl !== undefined) {
    throw deployment.problem("base_url", "the echo provider is built in and has no base URL");
  }
  return Object.freeze({
    id: deployment.string("id") ?? String(index),
    provider,
    model,
    baseUrl,
    apiKey: deployment.string("api_key"),
    weight: deployment.number("weight", { min: 0, exclusiveMin: true }) ?? 1,
    maxConcurrency: deployment.number("max_concurrency", { min: 1, integer: true }),
    rpm: deployment.number("rpm", { min: 1, integer: true }),
    timeoutMs: deployment.number("timeout_ms", { min: 1, integer: true }),
  });
}

function readPrice(price: FieldReader | undefined): ModelPrice | undefined {
  if (price === undefined) return undefined;
  price.only(["input_per_mtok", "output_per_mtok", "cached_input_per_mtok"]);
  const required = (key: string) => {
    const value = price.number(key, { min: 0 });
    if (value === undefined) throw price.problem(key, "is required");
    return value;
  };
  return Object.freeze({
    inputPerMtok: required("input_per_mtok"),
    outputPerMtok: required("output_per_mtok"),
    cachedInputPerMtok: price.number("cached_input_per_mtok", { min: 0 }),
  });
}

/** Fallbacks are followed on from model to model, so a path back to where it started never ends. */
function checkFallbackLoops(
  models: readonly { name: string; fallbacks: readonly string[] }[],
  problemAt: (field: string, problem: string) => Error,
): void {
  const indexOf = new Map(models.map((model, index) => [model.name, index]));
  for (const [start, model] of models.entries()) {
    // Depth-first from each model; the first edge that leads back to `start` is the loop.
    const visit = (index: number, trail: string[], seen: Set<number>): void => {
      for (const [fallbackIndex, name] of models[index].fallbacks.entries()) {
        const next = indexOf.get(name) as number;
        if (next === start) {
          throw problemAt(
            `models[${start}].fallbacks`,
            `fallback loop: ${[...trail, name].join(" -> ")}` +
              (index === start ? "" : ` (via models[${index}].fallbacks[${fallbackIndex}])`),
          );
        }
        if (seen.has(next)) continue;
        seen.add(next);
        visit(next, [...trail, name], seen);
      }
    };
    visit(start, [model.name], new Set([start]));
  }
}
