/**
 * Times in the order they were added, oldest dropped first, in O(1) per operation: a rate window
 * holds up to a minute of requests (tens of thousands at full load), and `Array.shift` would copy
 * them all on every request.
 */
export class TimeQueue {
  #times: number[] = [];
  #head = 0;

  get length(): number {
    return this.#times.length - this.#head;
  }

  get oldest(): number | undefined {
    return this.length === 0 ? undefined : this.#times[this.#head];
  }

  get newest(): number | undefined {
    return this.length === 0 ? undefined : this.#times[this.#times.length - 1];
  }

  push(time: number): void {
    this.#times.push(time);
  }

  /** Drops every time at or before `time`. */
  dropThrough(time: number): void {
    while (this.#head < this.#times.length && this.#times[this.#head] <= time) this.#head += 1;
    // Compacted once the dropped part is half the storage, so memory follows the window.
    if (this.#head > 1024 && this.#head * 2 >= this.#times.length) {
      this.#times = this.#times.slice(this.#head);
      this.#head = 0;
    }
  }
}
