import { doubledRing } from "./doubled-ring.ts";

/** Room for this many distinct times at first; the ring doubles when the window holds more. */
const INITIAL_CAPACITY = 256;

/**
 * Times in the order they were added, oldest dropped first, each operation O(1): a rate window
 * holds a minute of requests, hundreds of thousands at full load.
 *
 * Times are kept as runs, one slot per distinct time with how often it came: at full load
 * requests arrive several in each millisecond, so the window holds several times fewer slots
 * than requests (at 8,000 a second, 60,000 slots of 16 bytes for 480,000 requests). The slots are
 * a ring of typed arrays, as in `TokenWindow`: a plain array that size was copied whole to grow,
 * and again to compact it once its dropped head reached half of it.
 */
export class TimeQueue {
  #times = new Float64Array(INITIAL_CAPACITY);
  #counts = new Float64Array(INITIAL_CAPACITY);
  #mask = INITIAL_CAPACITY - 1;
  /** Sequence numbers of the oldest run and of the next one. */
  #head = 0;
  #tail = 0;
  #length = 0;

  /** How many times the queue holds (not how many distinct ones). */
  get length(): number {
    return this.#length;
  }

  get oldest(): number | undefined {
    return this.#head === this.#tail ? undefined : this.#times[this.#head & this.#mask];
  }

  get newest(): number | undefined {
    return this.#head === this.#tail ? undefined : this.#times[(this.#tail - 1) & this.#mask];
  }

  /** Adds a time no earlier than the newest (a clock that stepped back joins the newest run). */
  push(time: number): void {
    this.#length += 1;
    if (this.#head !== this.#tail) {
      const newest = (this.#tail - 1) & this.#mask;
      if (this.#times[newest] >= time) {
        this.#counts[newest] += 1;
        return;
      }
    }
    if (this.#tail - this.#head > this.#mask) this.#grow();
    const slot = this.#tail & this.#mask;
    this.#times[slot] = time;
    this.#counts[slot] = 1;
    this.#tail += 1;
  }

  /** Drops every time at or before `time`. */
  dropThrough(time: number): void {
    while (this.#head < this.#tail) {
      const slot = this.#head & this.#mask;
      if (this.#times[slot] > time) break;
      this.#length -= this.#counts[slot];
      this.#head += 1;
    }
  }

  /** Twice the room, each run moved to its sequence number's slot in the larger ring. */
  #grow(): void {
    this.#times = doubledRing(this.#times, this.#head, this.#tail);
    this.#counts = doubledRing(this.#counts, this.#head, this.#tail);
    this.#mask = this.#times.length - 1;
  }
}
