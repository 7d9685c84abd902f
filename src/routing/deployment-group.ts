import type { CatalogModel, RoutingStrategy } from "../catalog/catalog.ts";
import { ServiceError } from "../errors/service-error.ts";
import type { ResolvedModel } from "../llm/model-registry.ts";
import type { Deployment, DeploymentLease } from "./deployment.ts";

export type LeaseOptions = Readonly<{
  /** Deployments this call already tried. */
  exclude: ReadonlySet<Deployment>;
  /** Whether the call can go to this deployment's model at all (its provider carries the request). */
  accepts: (model: ResolvedModel) => boolean;
  signal: AbortSignal;
  /** How long to wait while every healthy deployment is at its `max_concurrency` or `rpm`. */
  maxWaitMs: number;
}>;

/**
 * The deployments of one model and how a call picks among them: the healthy ones it has not tried,
 * with room under their caps, by smooth weighted round-robin (an exact 3:1 for weights 3 and 1,
 * without the drift of random draws) or by fewest requests in flight. While every healthy one is
 * full, calls wait in line for a slot.
 */
export class DeploymentGroup {
  readonly name: string;
  readonly aliases: readonly string[];
  readonly fallbacks: readonly string[];
  readonly strategy: RoutingStrategy;
  readonly deployments: readonly Deployment[];
  /** What protocols name in their frames: the model as the client knows it. */
  readonly clientModel: ResolvedModel;
  /** Undefined for a model the catalog does not list (a `provider:model` name). */
  readonly catalogModel: CatalogModel | undefined;
  /** Counted in the routing metrics: a catalog model, or the environment's one; not a client-made name. */
  readonly tracked: boolean;
  readonly #waiters: Array<() => void> = [];

  constructor(options: {
    name: string;
    aliases?: readonly string[];
    fallbacks?: readonly string[];
    strategy: RoutingStrategy;
    catalogModel?: CatalogModel;
    tracked: boolean;
    build: (notify: () => void) => readonly Deployment[];
  }) {
    this.name = options.name;
    this.aliases = options.aliases ?? [];
    this.fallbacks = options.fallbacks ?? [];
    this.strategy = options.strategy;
    this.catalogModel = options.catalogModel;
    this.tracked = options.tracked;
    this.deployments = options.build(() => this.#wakeAll());
    this.clientModel = Object.freeze({ ...this.deployments[0].model, name: this.name });
  }

  /**
   * A slot on the deployment to try next, or undefined when none is left to try (all tried, in
   * cooldown, or unable to take the call). Throws MODEL_AT_CAPACITY after `maxWaitMs` of waiting,
   * or the signal's reason once the client has gone.
   */
  async lease(
    options: LeaseOptions,
  ): Promise<{ deployment: Deployment; lease: DeploymentLease } | undefined> {
    const deadline = Date.now() + options.maxWaitMs;
    for (;;) {
      const now = Date.now();
      const candidates = this.deployments.filter(
        (deployment) =>
          !options.exclude.has(deployment) && deployment.available(now) && options.accepts(deployment.model),
      );
      if (candidates.length === 0) return undefined;
      let retryInMs = Number.POSITIVE_INFINITY;
      const free = candidates.filter((deployment) => {
        const room = deployment.room(now);
        if (!room.free && room.retryInMs !== undefined) retryInMs = Math.min(retryInMs, room.retryInMs);
        return room.free;
      });
      if (free.length > 0) {
        const deployment = this.strategy === "least-busy" ? leastBusy(free) : weighted(free);
        return { deployment, lease: deployment.acquire(now) };
      }
      if (now >= deadline) {
        throw new ServiceError({
          code: "MODEL_AT_CAPACITY",
          message: `Every deployment of ${this.name} is at its max_concurrency or rpm; retry shortly.`,
          retryAfterSeconds: 1,
        });
      }
      await this.#waitForRoom(Math.min(retryInMs, deadline - now), options.signal);
    }
  }

  /** Until a slot frees, the rpm window moves, or `ms` pass; throws the signal's reason if the client leaves. */
  #waitForRoom(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        const index = this.#waiters.indexOf(done);
        if (index >= 0) this.#waiters.splice(index, 1);
        resolve();
      };
      const onAbort = () => {
        done();
        reject(signal.reason);
      };
      const timer = setTimeout(done, Math.max(1, ms));
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(done);
    });
  }

  /**
   * Every waiter looks again, in the order they came: they resume before any new request is read,
   * so the first in line takes the slot and the others wait on, still in order.
   */
  #wakeAll(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}

/** Smooth weighted round-robin (nginx's): each pick adds every weight, takes the largest, and subtracts the total from it. */
function weighted(free: readonly Deployment[]): Deployment {
  let total = 0;
  let best: Deployment | undefined;
  for (const deployment of free) {
    deployment.currentWeight += deployment.spec.weight;
    total += deployment.spec.weight;
    if (best === undefined || deployment.currentWeight > best.currentWeight) best = deployment;
  }
  const chosen = best as Deployment;
  chosen.currentWeight -= total;
  return chosen;
}

/** Fewest requests in flight; ties shared out by weight. */
function leastBusy(free: readonly Deployment[]): Deployment {
  const fewest = Math.min(...free.map((deployment) => deployment.inFlight));
  return weighted(free.filter((deployment) => deployment.inFlight === fewest));
}
