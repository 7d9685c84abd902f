import type { DeploymentSpec } from "../catalog/catalog.ts";
import type { ResolvedModel } from "../llm/model-registry.ts";
import { type CooldownSettings, DeploymentHealth } from "./deployment-health.ts";

/** How one attempt on a deployment ended, as `llm_api_deployment_requests_total` counts it. */
export const AttemptOutcomes = [
  "success",
  "rate_limited",
  "server_error",
  "timeout",
  "unreachable",
  "error",
  "cancelled",
] as const;
export type AttemptOutcome = (typeof AttemptOutcomes)[number];

/** The outcomes that put a deployment in cooldown. */
const UNHEALTHY: ReadonlySet<AttemptOutcome> = new Set([
  "rate_limited",
  "server_error",
  "timeout",
  "unreachable",
]);

const MINUTE_MS = 60_000;
/** Attempts the recent error rate of `/models/status` is taken over. */
const RECENT_ATTEMPTS = 100;

/** One attempt in progress: release it once, with how it ended. */
export type DeploymentLease = Readonly<{
  startedAt: number;
  probe: boolean;
  finish(outcome: AttemptOutcome, retryAfterMs?: number): void;
}>;

/**
 * One deployment of a catalog model as this instance knows it: its model, its circuit, its
 * requests in flight (for `max_concurrency` and least-busy), its starts of the last minute (for
 * `rpm`) and its recent outcomes. Requests in flight keep the object they started on, so a reload
 * never moves them.
 */
export class Deployment {
  readonly modelName: string;
  readonly spec: DeploymentSpec;
  readonly model: ResolvedModel;
  readonly health: DeploymentHealth;
  /** False for a deployment with no other to fail over to: a cooldown would only turn a blip into an outage. */
  readonly coolsDown: boolean;
  /** Smooth weighted round-robin's running weight. */
  currentWeight = 0;
  #inFlight = 0;
  readonly #starts: number[] = [];
  readonly #recent: boolean[] = [];
  readonly #onRelease: () => void;

  constructor(options: {
    modelName: string;
    spec: DeploymentSpec;
    model: ResolvedModel;
    cooldown: CooldownSettings;
    coolsDown: boolean;
    onRelease: () => void;
    health?: DeploymentHealth;
  }) {
    this.modelName = options.modelName;
    this.spec = options.spec;
    this.model = options.model;
    this.coolsDown = options.coolsDown;
    this.health = options.health ?? new DeploymentHealth(options.cooldown);
    this.#onRelease = options.onRelease;
  }

  get id(): string {
    return this.spec.id;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Healthy for new requests (a deployment that never cools down always is). */
  available(now: number): boolean {
    return !this.coolsDown || this.health.accepts(now);
  }

  /** Room under `max_concurrency` and `rpm`; otherwise when the rpm window next frees a start. */
  room(now: number): { free: true } | { free: false; retryInMs: number | undefined } {
    if (this.spec.maxConcurrency !== undefined && this.#inFlight >= this.spec.maxConcurrency) {
      return { free: false, retryInMs: undefined };
    }
    if (this.spec.rpm !== undefined) {
      while (this.#starts.length > 0 && this.#starts[0] <= now - MINUTE_MS) this.#starts.shift();
      if (this.#starts.length >= this.spec.rpm)
        return { free: false, retryInMs: this.#starts[0] + MINUTE_MS - now };
    }
    return { free: true };
  }

  /** Takes a slot; the caller checked `available` and `room` just before, in the same tick. */
  acquire(now: number): DeploymentLease {
    this.#inFlight += 1;
    if (this.spec.rpm !== undefined) this.#starts.push(now);
    const probe = this.coolsDown && this.health.begin(now);
    let finished = false;
    return {
      startedAt: now,
      probe,
      finish: (outcome, retryAfterMs) => {
        if (finished) return;
        finished = true;
        this.#inFlight -= 1;
        this.#record(outcome);
        if (this.coolsDown) {
          const attempt = { startedAt: now, probe };
          if (outcome === "success") this.health.succeeded(attempt);
          else if (UNHEALTHY.has(outcome)) this.health.failed(attempt, Date.now(), retryAfterMs);
          else this.health.ended(attempt);
        }
        this.#onRelease();
      },
    };
  }

  /** Share of failed attempts among the last ones, or undefined before any. */
  recentErrorRate(): number | undefined {
    if (this.#recent.length === 0) return undefined;
    return this.#recent.filter((failed) => failed).length / this.#recent.length;
  }

  #record(outcome: AttemptOutcome): void {
    if (outcome === "cancelled") return;
    this.#recent.push(outcome !== "success");
    if (this.#recent.length > RECENT_ATTEMPTS) this.#recent.shift();
  }
}
