/** Why an upstream attempt was cut: the abort reason, so the error it causes is recognisable. */
export class UpstreamTimeoutError extends Error {
  readonly phase: "first-byte" | "idle";
  constructor(phase: "first-byte" | "idle", ms: number) {
    super(
      phase === "first-byte"
        ? `The model provider did not answer within ${ms} ms.`
        : `The model provider sent nothing for ${ms} ms.`,
    );
    this.name = "TimeoutError";
    this.phase = phase;
  }
}

export type UpstreamDeadlineOptions = {
  /** Aborts the attempt too (the client went away). */
  parent: AbortSignal;
  /** `LLM_TIMEOUT_MS`: until the upstream first sends something. */
  firstByteMs: number;
  /** `LLM_IDLE_TIMEOUT_MS`: between two things it sends. */
  idleMs: number;
};

/**
 * The time limits of one upstream attempt, as an abort signal for the provider call. One timer,
 * refreshed rather than re-created on every chunk, keeps the streaming path cheap.
 */
export class UpstreamDeadline {
  readonly signal: AbortSignal;
  readonly #controller = new AbortController();
  readonly #options: UpstreamDeadlineOptions;
  readonly #onParentAbort: () => void;
  #timer: NodeJS.Timeout | undefined;
  #idle = false;
  #reason: UpstreamTimeoutError | undefined;

  constructor(options: UpstreamDeadlineOptions) {
    this.#options = options;
    this.signal = this.#controller.signal;
    this.#onParentAbort = () => this.#controller.abort(options.parent.reason);
    if (options.parent.aborted) this.#onParentAbort();
    else options.parent.addEventListener("abort", this.#onParentAbort, { once: true });
    this.#timer = setTimeout(() => this.#expire("first-byte", options.firstByteMs), options.firstByteMs);
  }

  /** The timeout that cut the attempt, if one did. */
  get timeout(): UpstreamTimeoutError | undefined {
    return this.#reason;
  }

  /** The upstream sent something: from now on the idle limit applies. */
  activity(): void {
    if (this.#idle && this.#timer !== undefined) {
      this.#timer.refresh();
      return;
    }
    clearTimeout(this.#timer);
    this.#idle = true;
    this.#timer = setTimeout(() => this.#expire("idle", this.#options.idleMs), this.#options.idleMs);
  }

  /** We stopped reading (the client is slow): the upstream is not idle, so stop counting. */
  suspend(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#options.parent.removeEventListener("abort", this.#onParentAbort);
  }

  #expire(phase: "first-byte" | "idle", ms: number): void {
    this.#reason = new UpstreamTimeoutError(phase, ms);
    this.#controller.abort(this.#reason);
  }
}
