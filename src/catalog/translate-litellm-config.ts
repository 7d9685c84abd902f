import { CatalogError } from "./catalog-error.ts";
import { describe, type LocateField } from "./field-reader.ts";

/** A LiteLLM proxy `config.yaml` in the models format, with where each field came from. */
export type TranslatedConfig = {
  models: Record<string, unknown>;
  locate: LocateField;
  /** The keys it uses that we do not support, by path. */
  unsupported: string[];
};

/** LiteLLM's provider prefixes we can serve, and the provider each means here. */
const PROVIDERS: Readonly<Record<string, string>> = {
  openai: "openai",
  // vLLM's OpenAI-compatible server, as LiteLLM names it.
  hosted_vllm: "openai",
  anthropic: "anthropic",
  ollama: "ollama",
  ollama_chat: "ollama",
};

const PARAMS: Readonly<Record<string, string>> = {
  api_base: "base_url",
  api_key: "api_key",
  rpm: "rpm",
  weight: "weight",
  max_parallel_requests: "max_concurrency",
};

const ENVIRONMENT_PREFIX = "os.environ/";

/**
 * `model_list` entries sharing a `model_name` become the deployments of one model;
 * `litellm_params.model` is `provider/name`; `os.environ/NAME` reads the environment (an unset one
 * is a problem); `router_settings.fallbacks` and `routing_strategy` carry over. Anything else is
 * listed in `unsupported`, for one warning.
 */
export function translateLiteLLMConfig(
  file: string,
  parsed: Record<string, unknown>,
  read: (name: string) => string | undefined,
): TranslatedConfig {
  const unsupported: string[] = [];
  const paths = new Map<string, string>();
  const problem = (field: string, text: string) => new CatalogError(file, field, text);
  const environment = (value: unknown, field: string): unknown => {
    if (typeof value !== "string" || !value.startsWith(ENVIRONMENT_PREFIX)) return value;
    const name = value.slice(ENVIRONMENT_PREFIX.length);
    const variable = read(name);
    if (variable === undefined) throw problem(field, `the environment variable ${name} is not set`);
    return variable;
  };

  for (const key of Object.keys(parsed)) {
    if (key !== "model_list" && key !== "router_settings") unsupported.push(key);
  }
  const list = parsed.model_list;
  if (!Array.isArray(list) || list.length === 0) throw problem("model_list", "must be a non-empty list");

  const models: {
    name: string;
    deployments: Record<string, unknown>[];
    fallbacks?: string[];
    embeddings?: boolean;
  }[] = [];
  const modelIndex = new Map<string, number>();
  list.forEach((entry: unknown, listIndex) => {
    const at = `model_list[${listIndex}]`;
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      throw problem(at, `must be a mapping, got ${describe(entry)}`);
    }
    const {
      model_name: name,
      litellm_params: params,
      model_info: info,
      ...rest
    } = entry as Record<string, unknown>;
    for (const key of Object.keys(rest)) unsupported.push(`${at}.${key}`);
    if (typeof name !== "string" || name.trim().length === 0) {
      throw problem(`${at}.model_name`, `must be a non-empty string, got ${describe(name)}`);
    }
    if (typeof params !== "object" || params === null || Array.isArray(params)) {
      throw problem(`${at}.litellm_params`, `must be a mapping, got ${describe(params)}`);
    }
    let index = modelIndex.get(name);
    if (index === undefined) {
      index = models.length;
      modelIndex.set(name, index);
      models.push({ name, deployments: [] });
      paths.set(`models[${index}].name`, `${at}.model_name`);
      paths.set(`models[${index}]`, at);
    }
    const model = models[index];
    const deploymentPath = `models[${index}].deployments[${model.deployments.length}]`;
    paths.set(deploymentPath, at);
    const deployment: Record<string, unknown> = {};

    for (const [key, raw] of Object.entries(params as Record<string, unknown>)) {
      const field = `${at}.litellm_params.${key}`;
      const value = environment(raw, field);
      if (key === "model") {
        if (typeof value !== "string" || !value.includes("/")) {
          throw problem(field, `must be provider/name (openai/gpt-4o-mini), got ${describe(value)}`);
        }
        const slash = value.indexOf("/");
        const prefix = value.slice(0, slash);
        const provider = PROVIDERS[prefix];
        if (provider === undefined) {
          throw problem(
            field,
            `unknown provider "${prefix}"; this service serves ${Object.keys(PROVIDERS).join(", ")}`,
          );
        }
        deployment.provider = provider;
        deployment.model = value.slice(slash + 1);
        paths.set(`${deploymentPath}.provider`, field);
        paths.set(`${deploymentPath}.model`, field);
      } else if (key === "timeout") {
        // LiteLLM's timeout is in seconds.
        if (typeof value !== "number" || !(value > 0)) {
          throw problem(field, `must be a number of seconds above 0, got ${describe(value)}`);
        }
        deployment.timeout_ms = Math.ceil(value * 1000);
        paths.set(`${deploymentPath}.timeout_ms`, field);
      } else if (PARAMS[key] !== undefined) {
        deployment[PARAMS[key]] = value;
        paths.set(`${deploymentPath}.${PARAMS[key]}`, field);
      } else {
        unsupported.push(field);
      }
    }
    // LiteLLM's Ollama base is the server itself; its OpenAI-compatible API is under /v1.
    if (deployment.provider === "ollama" && typeof deployment.base_url === "string") {
      deployment.base_url = withV1(deployment.base_url);
    }
    if (typeof info === "object" && info !== null && !Array.isArray(info)) {
      for (const [key, value] of Object.entries(info as Record<string, unknown>)) {
        const field = `${at}.model_info.${key}`;
        if (key === "id") {
          deployment.id = value;
          paths.set(`${deploymentPath}.id`, field);
        } else if (key === "mode" && value === "embedding") {
          model.embeddings = true;
        } else {
          unsupported.push(field);
        }
      }
    } else if (info !== undefined) {
      unsupported.push(`${at}.model_info`);
    }
    model.deployments.push(deployment);
  });

  let strategy: string | undefined;
  const router = parsed.router_settings;
  if (router !== undefined && router !== null) {
    if (typeof router !== "object" || Array.isArray(router)) {
      throw problem("router_settings", `must be a mapping, got ${describe(router)}`);
    }
    for (const [key, value] of Object.entries(router as Record<string, unknown>)) {
      if (key === "routing_strategy") {
        if (value === "simple-shuffle") strategy = "weighted";
        else if (value === "least-busy") strategy = "least-busy";
        else unsupported.push(`router_settings.routing_strategy (${String(value)}; weighted is used)`);
      } else if (key === "fallbacks") {
        readFallbacks(value, models, modelIndex, paths, problem);
      } else {
        unsupported.push(`router_settings.${key}`);
      }
    }
  }
  const translated: Record<string, unknown> = {
    models: models.map((model) => ({
      name: model.name,
      deployments: model.deployments,
      ...(model.fallbacks === undefined ? {} : { fallbacks: model.fallbacks }),
      ...(model.embeddings === true ? { embeddings: true } : {}),
    })),
    ...(strategy === undefined ? {} : { router: { strategy } }),
  };
  return { models: translated, locate: (field) => locateIn(paths, field), unsupported };
}

/** `fallbacks: [{chat: [claude]}, ...]`, as LiteLLM writes them. */
function readFallbacks(
  value: unknown,
  models: { name: string; fallbacks?: string[] }[],
  modelIndex: Map<string, number>,
  paths: Map<string, string>,
  problem: (field: string, text: string) => CatalogError,
): void {
  if (!Array.isArray(value))
    throw problem("router_settings.fallbacks", "must be a list of {model: [fallbacks]}");
  value.forEach((item: unknown, itemIndex) => {
    const at = `router_settings.fallbacks[${itemIndex}]`;
    if (typeof item !== "object" || item === null || Array.isArray(item)) {
      throw problem(at, `must be a mapping of a model to its fallbacks, got ${describe(item)}`);
    }
    for (const [name, targets] of Object.entries(item as Record<string, unknown>)) {
      const index = modelIndex.get(name);
      if (index === undefined) throw problem(`${at}.${name}`, `"${name}" is not a model_name of model_list`);
      if (!Array.isArray(targets)) throw problem(`${at}.${name}`, "must be a list of model names");
      const model = models[index];
      model.fallbacks ??= [];
      for (const [targetIndex, target] of targets.entries()) {
        paths.set(`models[${index}].fallbacks[${model.fallbacks.length}]`, `${at}.${name}[${targetIndex}]`);
        model.fallbacks.push(target as string);
      }
      paths.set(`models[${index}].fallbacks`, `${at}.${name}`);
    }
  });
}

/** The longest known prefix of `field`, rewritten; the rest of the path kept. */
function locateIn(paths: Map<string, string>, field: string): string {
  if (paths.has(field)) return paths.get(field) as string;
  for (let end = field.length; end > 0; end -= 1) {
    const prefix = field.slice(0, end);
    const mapped = paths.get(prefix);
    if (mapped !== undefined && (field[end] === "." || field[end] === "["))
      return `${mapped}${field.slice(end)}`;
  }
  return field;
}

function withV1(baseUrl: string): string {
  const trimmed = baseUrl.replace(/\/+$/, "");
  return trimmed.endsWith("/v1") ? trimmed : `${trimmed}/v1`;
}
