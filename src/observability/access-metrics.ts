import { Counter, Gauge, type Registry } from "prom-client";

/** The access layer's own metrics: lost ledger rows, and whether limits are shared. */
export function createAccessMetrics(registry: Registry, limitsShared: () => boolean | undefined) {
  const usageRowsDropped = new Counter({
    name: "llm_api_usage_rows_dropped_total",
    help: "Usage ledger rows dropped: the buffer was full while the store could not be written, or the store refused the row's values",
    registers: [registry],
  });
  const limiterFallbacks = new Counter({
    name: "llm_api_rate_limit_fallbacks_total",
    help: "Times the rate limits fell back from Redis to counting per replica",
    registers: [registry],
  });
  new Gauge({
    name: "llm_api_rate_limits_shared",
    help: "1 while rate limits and budgets are counted in Redis for every replica, 0 while per replica (Redis unreachable); absent without REDIS_URL",
    registers: [registry],
    collect() {
      const shared = limitsShared();
      if (shared === undefined) this.reset();
      else this.set(shared ? 1 : 0);
    },
  });
  return { usageRowsDropped, limiterFallbacks };
}
