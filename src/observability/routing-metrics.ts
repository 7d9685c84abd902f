import { Counter, Gauge, type Registry } from "prom-client";
import type { AttemptOutcome } from "../routing/deployment.ts";
import type { RoutingObserver } from "../routing/routing-observer.ts";

/** A deployment's health as the `llm_api_deployment_up` gauge shows it, read at each scrape. */
export type DeploymentUpSample = Readonly<{ model: string; deployment: string; up: boolean }>;

/**
 * The routing metrics: attempts per deployment and outcome, fallbacks taken, catalog reloads, and
 * each deployment's health. Labels are bounded by the models file: client-made model names
 * (`provider:model`) are not counted here.
 */
export class RoutingMetrics implements RoutingObserver {
  readonly #requests: Counter<"model" | "deployment" | "outcome">;
  readonly #fallbacks: Counter<"model" | "fallback">;
  readonly #reloads: Counter<"result">;

  constructor(registry: Registry, deployments: () => readonly DeploymentUpSample[]) {
    this.#requests = new Counter({
      name: "llm_api_deployment_requests_total",
      help: "Attempts on each deployment of a catalog model, by outcome (success, rate_limited, server_error, timeout, unreachable, error, cancelled).",
      labelNames: ["model", "deployment", "outcome"] as const,
      registers: [registry],
    });
    this.#fallbacks = new Counter({
      name: "llm_api_fallbacks_total",
      help: "Calls that went on to a fallback model once every deployment of their model failed.",
      labelNames: ["model", "fallback"] as const,
      registers: [registry],
    });
    this.#reloads = new Counter({
      name: "llm_api_catalog_reloads_total",
      help: "Reloads of the models file, by result (success, or failure: the running catalog was kept).",
      labelNames: ["result"] as const,
      registers: [registry],
    });
    new Gauge({
      name: "llm_api_deployment_up",
      help: "Whether a deployment takes requests: 1 healthy, 0 in cooldown.",
      labelNames: ["model", "deployment"] as const,
      registers: [registry],
      collect() {
        // Reset first: a deployment a reload removed must not linger with its last value.
        this.reset();
        for (const sample of deployments()) {
          this.set({ model: sample.model, deployment: sample.deployment }, sample.up ? 1 : 0);
        }
      },
    });
    // Present from the start, so a rate over them is defined before the first reload.
    for (const result of ["success", "failure"]) this.#reloads.inc({ result }, 0);
  }

  attempted(model: string, deployment: string, outcome: AttemptOutcome): void {
    this.#requests.inc({ model, deployment, outcome });
  }

  fellBack(model: string, fallback: string): void {
    this.#fallbacks.inc({ model, fallback });
  }

  reloaded(result: "success" | "failure"): void {
    this.#reloads.inc({ result });
  }
}
