import {
  type Catalog,
  type CatalogModel,
  DEFAULT_ROUTER_SETTINGS,
  type DeploymentSpec,
} from "../catalog/catalog.ts";
import { ServiceError } from "../errors/service-error.ts";
import type { ModelRegistry, ResolvedModel } from "../llm/model-registry.ts";
import type { DeploymentModels } from "./create-deployment-models.ts";
import { Deployment } from "./deployment.ts";
import { DeploymentGroup } from "./deployment-group.ts";
import type { DeploymentHealth } from "./deployment-health.ts";
import { noopRoutingObserver, type RoutingObserver } from "./routing-observer.ts";

export type ModelRouterOptions = {
  /** `provider:model` names, `echo`, and the environment-only default model. */
  registry: ModelRegistry;
  deploymentModels: DeploymentModels;
  /** The models file; undefined for the implicit one-model catalog of the environment. */
  catalog: Catalog | undefined;
  observer?: RoutingObserver;
};

/**
 * Which deployments serve a model name: the catalog's models by name or alias, and any other name
 * the registry resolves (`provider:model`, `echo`) as a model of one deployment. Without a models
 * file the catalog is implicit: the registry's default model, alone.
 */
export class ModelRouter {
  readonly observer: RoutingObserver;
  readonly #registry: ModelRegistry;
  readonly #deploymentModels: DeploymentModels;
  #catalog: Catalog | undefined;
  #models: readonly DeploymentGroup[] = [];
  #byName = new Map<string, DeploymentGroup>();
  #default!: DeploymentGroup;

  constructor(options: ModelRouterOptions) {
    this.observer = options.observer ?? noopRoutingObserver;
    this.#registry = options.registry;
    this.#deploymentModels = options.deploymentModels;
    this.#install(options.catalog);
  }

  get catalog(): Catalog | undefined {
    return this.#catalog;
  }

  /** The catalog's models (or the implicit one), as `/models/status` and `/v1/models` list them. */
  models(): readonly DeploymentGroup[] {
    return this.#models;
  }

  /** The model a request names (the default when it names none); UNKNOWN_MODEL when none is. */
  group(name: string | undefined): DeploymentGroup {
    if (name === undefined || name === "") return this.#default;
    const listed = this.#byName.get(name);
    if (listed !== undefined) return listed;
    // A bare name is the default provider's model without a file; with one it must be the file's,
    // or a misspelt name would be answered by whatever LLM_MODEL happens to be.
    if (this.#catalog !== undefined && name !== "echo" && !name.includes(":")) {
      const names = this.#models.map((group) => group.name).join(", ");
      throw new ServiceError({
        code: "UNKNOWN_MODEL",
        message: `Model "${name}" is not in the models file; use one of ${names}, or provider:model.`,
        param: "model",
      });
    }
    const resolved = this.#registry.resolve(name);
    if (resolved.name === this.#default.clientModel.name && this.#catalog === undefined) return this.#default;
    return singleDeployment(resolved);
  }

  /** A model the catalog lists by this name or alias. */
  listed(name: string): DeploymentGroup | undefined {
    return this.#byName.get(name);
  }

  /** A model outside the catalog, as a model of one deployment (not counted in the routing metrics). */
  adHoc(model: ResolvedModel): DeploymentGroup {
    return singleDeployment(model);
  }

  /**
   * Serves `catalog` from now on. Calls already routed keep the deployments they hold; a deployment
   * that is still there (same model, id, provider, model id, base URL and cooldown) keeps its
   * circuit, so a reload neither forgets an upstream is down nor lets a probe through early.
   */
  replace(catalog: Catalog): void {
    this.#install(catalog);
  }

  #install(catalog: Catalog | undefined): void {
    const previous = new Map<string, DeploymentHealth>();
    for (const group of this.#models) {
      for (const deployment of group.deployments)
        previous.set(
          healthKey(group.name, deployment.spec, catalogCooldown(this.#catalog)),
          deployment.health,
        );
    }
    const models =
      catalog === undefined
        ? [environmentModel(this.#registry.defaultModel)]
        : catalog.models.map((model) => this.#catalogModel(model, catalog, previous));
    const byName = new Map<string, DeploymentGroup>();
    for (const group of models) {
      byName.set(group.name, group);
      for (const alias of group.aliases) byName.set(alias, group);
    }
    this.#catalog = catalog;
    this.#models = Object.freeze(models);
    this.#byName = byName;
    this.#default = catalog === undefined ? models[0] : (byName.get(catalog.defaultModel) as DeploymentGroup);
  }

  #catalogModel(
    model: CatalogModel,
    catalog: Catalog,
    previous: Map<string, DeploymentHealth>,
  ): DeploymentGroup {
    const cooldown = catalog.router.cooldown;
    return new DeploymentGroup({
      name: model.name,
      aliases: model.aliases,
      fallbacks: model.fallbacks,
      strategy: catalog.router.strategy,
      catalogModel: model,
      tracked: true,
      build: (notify) =>
        model.deployments.map(
          (spec) =>
            new Deployment({
              modelName: model.name,
              spec,
              model: this.#deploymentModels.modelFor(spec),
              cooldown,
              // With nowhere else to go, a cooldown would only turn a blip into an outage.
              coolsDown: model.deployments.length > 1,
              onRelease: notify,
              health: previous.get(healthKey(model.name, spec, cooldown)),
            }),
        ),
    });
  }
}

function catalogCooldown(catalog: Catalog | undefined) {
  return (catalog?.router ?? DEFAULT_ROUTER_SETTINGS).cooldown;
}

function healthKey(
  model: string,
  spec: DeploymentSpec,
  cooldown: { initialMs: number; maxMs: number },
): string {
  return JSON.stringify([
    model,
    spec.id,
    spec.provider,
    spec.model,
    spec.baseUrl,
    cooldown.initialMs,
    cooldown.maxMs,
  ]);
}

/** The implicit catalog: the environment's model (`LLM_MODEL` with its provider's settings). */
function environmentModel(model: ResolvedModel): DeploymentGroup {
  return singleDeployment(model, { id: model.provider, tracked: true });
}

/** A model of one deployment that never cools down: its failures are retried on it, as before routing. */
function singleDeployment(
  model: ResolvedModel,
  { id, tracked }: { id: string; tracked: boolean } = { id: "0", tracked: false },
): DeploymentGroup {
  const spec: DeploymentSpec = Object.freeze({
    id,
    provider: model.provider,
    model: model.modelId,
    baseUrl: undefined,
    apiKey: undefined,
    weight: 1,
    maxConcurrency: undefined,
    rpm: undefined,
    timeoutMs: undefined,
  });
  return new DeploymentGroup({
    name: model.name,
    strategy: "weighted",
    tracked,
    build: (notify) => [
      new Deployment({
        modelName: model.name,
        spec,
        model,
        cooldown: DEFAULT_ROUTER_SETTINGS.cooldown,
        coolsDown: false,
        onRelease: notify,
      }),
    ],
  });
}
