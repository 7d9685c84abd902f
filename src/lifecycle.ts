import { settledWithin } from "./settled-within.ts";

export type LifecycleState = "starting" | "ready" | "draining";

/** A dependency the service needs to serve (a queue, a database); throws when it cannot. */
export type ReadinessCheck = () => Promise<void> | void;

/**
 * Where the process is in its life: `/ready` answers 200 only while `ready`, so a load balancer
 * stops sending traffic before shutdown closes anything.
 */
export class Lifecycle {
  #state: LifecycleState = "starting";
  readonly #checks = new Map<string, ReadinessCheck>();
  readonly #degradations = new Map<string, () => boolean>();
  readonly #checkTimeoutMs: number;
  /** Each check still running, shared by the probes that arrive meanwhile (it answers whether it passed). */
  readonly #running = new Map<string, Promise<boolean>>();

  /** `checkTimeoutMs` (`READY_CHECK_TIMEOUT_MS`): a check not answered by then counts as failed. */
  constructor(options: { checkTimeoutMs?: number } = {}) {
    this.#checkTimeoutMs = options.checkTimeoutMs ?? 1000;
  }

  get state(): LifecycleState {
    return this.#state;
  }

  get isDraining(): boolean {
    return this.#state === "draining";
  }

  markReady(): void {
    if (this.#state === "starting") this.#state = "ready";
  }

  startDraining(): void {
    this.#state = "draining";
  }

  addReadinessCheck(name: string, check: ReadinessCheck): void {
    this.#checks.set(name, check);
  }

  /**
   * A way of serving worse without failing readiness (limits counted per replica while Redis is
   * away): `/ready` stays 200 and lists it under `degraded` while `isDegraded` says so.
   */
  addDegradation(name: string, isDegraded: () => boolean): void {
    this.#degradations.set(name, isDegraded);
  }

  /** The names of the degradations in effect now. */
  degradations(): string[] {
    return [...this.#degradations]
      .filter(([, isDegraded]) => isDegraded())
      .map(([name]) => name)
      .sort();
  }

  /**
   * Runs every check at once; answers the names of those that failed or did not answer within
   * the check deadline. A dependency that is down can hang rather than fail (a Redis client
   * reconnecting queues the ping until it is back), and a probe must answer in bounded time.
   */
  async failingChecks(): Promise<string[]> {
    const failing: string[] = [];
    await Promise.all(
      [...this.#checks].map(async ([name, check]) => {
        if (!(await this.#passes(name, check))) failing.push(name);
      }),
    );
    return failing.sort();
  }

  async #passes(name: string, check: ReadinessCheck): Promise<boolean> {
    // A probe that arrives while the last check still hangs waits on that one instead of starting
    // another, so a long outage does not pile up one pending ping per probe.
    let running = this.#running.get(name);
    if (running === undefined) {
      running = Promise.resolve()
        .then(check)
        .then(
          () => true,
          () => false,
        )
        .finally(() => this.#running.delete(name));
      this.#running.set(name, running);
    }
    return (await settledWithin(running, this.#checkTimeoutMs, { unref: true })) && (await running);
  }
}
