import type { AccessStore } from "./access-store.ts";
import type { UsageRow } from "./usage-row.ts";

export type UsageLedgerOptions = {
  store: Pick<AccessStore, "insertUsage" | "rejectsRows">;
  /** Rows waiting to be written; past it a new row is dropped and counted. */
  maxBuffered: number;
  /** Rows written in one statement. */
  batchSize?: number;
  /** How often the buffer is written. */
  flushIntervalMs?: number;
  /** Told of the rows dropped since the last report, at most once per flush interval (metric and log). */
  onDropped: (count: number) => void;
  onWriteFailed: (error: unknown, buffered: number) => void;
  /** Told of rows the store refused for their own values (also counted in `onDropped`'s metric). */
  onRejected: (error: unknown, count: number) => void;
};

/**
 * The usage ledger's writer: rows wait in a bounded buffer and are written in batches off the
 * request path. A batch that fails because the store is down stays buffered and is tried again;
 * when the buffer is full, a new row is dropped and counted, never lost silently. A batch the store
 * refuses for a value in it is written a row at a time, so that the one row at fault is dropped
 * and reported, not the batch, and does not block every later row behind it.
 */
export class UsageLedger {
  readonly #options: Required<UsageLedgerOptions>;
  readonly #buffer: UsageRow[] = [];
  readonly #timer: NodeJS.Timeout;
  #flushing: Promise<void> | undefined;
  #failing = false;
  #droppedSinceReport = 0;

  constructor(options: UsageLedgerOptions) {
    this.#options = { batchSize: 500, flushIntervalMs: 250, ...options };
    this.#timer = setInterval(() => {
      this.#reportDropped();
      void this.flush();
    }, this.#options.flushIntervalMs);
    this.#timer.unref();
  }

  get buffered(): number {
    return this.#buffer.length;
  }

  record(row: UsageRow): void {
    if (this.#buffer.length >= this.#options.maxBuffered) {
      this.#droppedSinceReport += 1;
      return;
    }
    this.#buffer.push(row);
    // A burst writes at once rather than waiting for the timer, so the buffer's room is kept for outages.
    if (this.#buffer.length >= Math.min(this.#options.batchSize, Math.ceil(this.#options.maxBuffered / 2))) {
      void this.flush();
    }
  }

  /** Writes what is buffered now; a failure leaves it buffered for the next attempt. */
  flush(): Promise<void> {
    this.#flushing ??= this.#writeAll().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  /** Writes what it can, then counts what is left as dropped. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
    this.#droppedSinceReport += this.#buffer.length;
    this.#buffer.length = 0;
    this.#reportDropped();
  }

  #reportDropped(): void {
    if (this.#droppedSinceReport === 0) return;
    const count = this.#droppedSinceReport;
    this.#droppedSinceReport = 0;
    this.#options.onDropped(count);
  }

  async #writeAll(): Promise<void> {
    while (this.#buffer.length > 0) {
      const batch = this.#buffer.slice(0, this.#options.batchSize);
      try {
        await this.#options.store.insertUsage(batch);
      } catch (error) {
        if (this.#options.store.rejectsRows(error)) {
          if (await this.#writeEach(batch.length)) continue;
          return;
        }
        this.#storeFailed(error);
        return;
      }
      this.#failing = false;
      this.#buffer.splice(0, batch.length);
    }
  }

  /**
   * The first `count` buffered rows, one statement each: a refused row is dropped and reported, a
   * written one leaves the buffer. False when the store itself fails meanwhile; what is left of
   * the rows then waits in the buffer, as a whole batch would.
   */
  async #writeEach(count: number): Promise<boolean> {
    let rejected = 0;
    let reason: unknown;
    try {
      for (let index = 0; index < count; index += 1) {
        const row = this.#buffer[0] as UsageRow;
        try {
          await this.#options.store.insertUsage([row]);
        } catch (error) {
          if (!this.#options.store.rejectsRows(error)) {
            this.#storeFailed(error);
            return false;
          }
          rejected += 1;
          reason ??= error;
        }
        this.#buffer.shift();
      }
      this.#failing = false;
      return true;
    } finally {
      if (rejected > 0) {
        this.#droppedSinceReport += rejected;
        this.#options.onRejected(reason, rejected);
      }
    }
  }

  #storeFailed(error: unknown): void {
    // One log line per outage, not per attempt.
    if (!this.#failing) this.#options.onWriteFailed(error, this.#buffer.length);
    this.#failing = true;
  }
}
