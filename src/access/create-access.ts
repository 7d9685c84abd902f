import type { Config } from "../config.ts";
import { AccessControl } from "./access-control.ts";
import type { AccessStore } from "./access-store.ts";
import { FailoverRateLimiter } from "./failover-rate-limiter.ts";
import { KeyDirectory } from "./key-directory.ts";
import { MemoryRateLimiter } from "./memory-rate-limiter.ts";
import type { ModelPrice } from "./model-prices.ts";
import { createPriceList } from "./price-list.ts";
import type { RateLimiter } from "./rate-limiter.ts";
import { RedisRateLimiter } from "./redis-rate-limiter.ts";
import { UsageLedger } from "./usage-ledger.ts";

/** What the access layer tells the process about itself: for metrics and log lines. */
export type AccessEvents = {
  usageRowsDropped(count: number): void;
  usageWriteFailed(error: unknown, buffered: number): void;
  /** The store refused rows for their own values; they are dropped (and counted as such). */
  usageRowsRejected(error: unknown, count: number): void;
  /** Limits went from shared (Redis) to per replica, or back. */
  limiterModeChanged(shared: boolean, cause?: unknown): void;
};

export type AccessOptions = {
  config: Config;
  store: AccessStore;
  events: AccessEvents;
  /** Per-model prices over the bundled table: the models file's, then `MODEL_PRICES`. */
  prices?: Readonly<Record<string, ModelPrice>>;
  /** Prefixes Redis keys; tests give each run its own. */
  redisPrefix?: string;
};

/** Keys, limits, budgets and the usage ledger, as one process uses them. */
export type Access = {
  readonly store: AccessStore;
  readonly keys: KeyDirectory;
  readonly control: AccessControl;
  readonly ledger: UsageLedger;
  /** True when limits are counted in Redis (shared), false while per replica; undefined without Redis. */
  readonly limitsShared: () => boolean | undefined;
  close(): Promise<void>;
};

export function createAccess(options: AccessOptions): Access {
  const { config, store, events } = options;
  let limiter: RateLimiter;
  let limitsShared: () => boolean | undefined = () => undefined;
  if (config.redisUrl !== undefined) {
    const failover = new FailoverRateLimiter(
      new RedisRateLimiter({ redisUrl: config.redisUrl, prefix: options.redisPrefix ?? "llm-api" }),
      events.limiterModeChanged,
    );
    limiter = failover;
    limitsShared = () => failover.isShared;
  } else {
    limiter = new MemoryRateLimiter();
  }
  const ledger = new UsageLedger({
    store,
    maxBuffered: config.usageBufferRows,
    onDropped: events.usageRowsDropped,
    onWriteFailed: events.usageWriteFailed,
    onRejected: events.usageRowsRejected,
  });
  const control = new AccessControl({
    store,
    limiter,
    ledger,
    prices: createPriceList({ ...config.modelPrices, ...options.prices }),
    addressLimits: {
      rpm: config.rateLimitRpm,
      tpm: config.rateLimitTpm,
      maxParallel: config.rateLimitMaxParallel,
    },
  });
  return {
    store,
    keys: new KeyDirectory({ store }),
    control,
    ledger,
    limitsShared,
    async close() {
      // The ledger's last rows go to the store before it closes.
      await ledger.close();
      await limiter.close();
      await store.close();
    },
  };
}
