/**
 * Caps the streams open at once (`MAX_CONCURRENT_STREAMS`). Lives on the app as `streamSlots`,
 * so metrics can read `active`.
 */
export class StreamSlots {
  readonly limit: number;
  #active = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  get active(): number {
    return this.#active;
  }

  /** A release function, or undefined when every slot is taken. Releasing twice frees one slot. */
  tryAcquire(): (() => void) | undefined {
    if (this.#active >= this.limit) return undefined;
    this.#active += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#active -= 1;
    };
  }
}
