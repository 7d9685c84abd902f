import type { ServiceError } from "../errors/service-error.ts";

/** Ends one open stream with its protocol's error frame (shutdown's last word to its client). */
export type StreamInterrupt = (reason: ServiceError) => void;

/**
 * Caps the streams open at once (`MAX_CONCURRENT_STREAMS`), chat and job events alike, and knows
 * how to end each of them: at the shutdown deadline every stream still open is ended with an error
 * frame, so a client can tell a cut answer from a finished one. Lives on the app as
 * `streamSlots`, so metrics can read `active`.
 */
export class StreamSlots {
  readonly limit: number;
  readonly #interrupts = new Set<StreamInterrupt>();
  #active = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  get active(): number {
    return this.#active;
  }

  /**
   * A release function, or undefined when every slot is taken. `interrupt`, a function of this
   * stream's own, is called if the stream is still open at `interruptAll`. Releasing twice frees
   * one slot.
   */
  tryAcquire(interrupt?: StreamInterrupt): (() => void) | undefined {
    if (this.#active >= this.limit) return undefined;
    this.#active += 1;
    if (interrupt !== undefined) this.#interrupts.add(interrupt);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#active -= 1;
      if (interrupt !== undefined) this.#interrupts.delete(interrupt);
    };
  }

  /** Interrupts every open stream with `reason`; answers how many were interrupted. */
  interruptAll(reason: ServiceError): number {
    const interrupts = [...this.#interrupts];
    this.#interrupts.clear();
    for (const interrupt of interrupts) interrupt(reason);
    return interrupts.length;
  }
}
