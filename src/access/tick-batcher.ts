/**
 * Gathers the items added in one turn of the event loop, per group, and hands each group to
 * `flush` once, after the turn: the requests of many sockets read in one poll become one call.
 * The batch is flushed on `setImmediate`, after every socket of the poll phase was read; a
 * microtask would close it after the first socket's request.
 */
export class TickBatcher<Item, Result> {
  readonly #flush: (group: string, items: readonly Item[]) => Promise<readonly Result[]>;
  readonly #maxItems: number;
  #pending = new Map<string, Batch<Item, Result>>();
  /** Batches that reached `maxItems` this turn, in the order they filled. */
  #full: [string, Batch<Item, Result>][] = [];

  /**
   * `flush` answers one result per item, in order; when it throws, every item of the batch fails
   * with it. A group's batch holds at most `maxItems`; a turn with more flushes several, in order.
   */
  constructor(flush: (group: string, items: readonly Item[]) => Promise<readonly Result[]>, maxItems = 256) {
    this.#flush = flush;
    this.#maxItems = maxItems;
  }

  add(group: string, item: Item): Promise<Result> {
    // The first item of a turn schedules its flush; the flush empties both lists at once.
    if (this.#pending.size === 0 && this.#full.length === 0) setImmediate(() => this.#flushAll());
    let batch = this.#pending.get(group);
    if (batch !== undefined && batch.items.length >= this.#maxItems) {
      this.#full.push([group, batch]);
      batch = undefined;
    }
    if (batch === undefined) {
      batch = { items: [], waiting: [] };
      this.#pending.set(group, batch);
    }
    batch.items.push(item);
    return new Promise<Result>((resolve, reject) => batch.waiting.push({ resolve, reject }));
  }

  #flushAll(): void {
    const batches = [...this.#full, ...this.#pending];
    this.#pending = new Map();
    this.#full = [];
    for (const [group, batch] of batches) {
      this.#flush(group, batch.items).then(
        (results) => {
          if (results.length !== batch.items.length) {
            const error = new Error(`a batch of ${batch.items.length} got ${results.length} results`);
            for (const waiting of batch.waiting) waiting.reject(error);
            return;
          }
          for (let index = 0; index < batch.waiting.length; index += 1) {
            batch.waiting[index].resolve(results[index]);
          }
        },
        (error: unknown) => {
          for (const waiting of batch.waiting) waiting.reject(error);
        },
      );
    }
  }
}

type Batch<Item, Result> = {
  items: Item[];
  waiting: { resolve: (result: Result) => void; reject: (error: unknown) => void }[];
};
