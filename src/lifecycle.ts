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

  /** Runs every check; answers the names of those that failed. */
  async failingChecks(): Promise<string[]> {
    const failing: string[] = [];
    await Promise.all(
      [...this.#checks].map(async ([name, check]) => {
        try {
          await check();
        } catch {
          failing.push(name);
        }
      }),
    );
    return failing.sort();
  }
}
