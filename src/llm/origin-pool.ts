import { Pool } from "undici";

/**
 * The keep-alive pool of `origin` in `pools`, made on first use, so every upstream of one origin
 * (Chat Completions, Messages, embeddings) shares its connections.
 */
export function originPool(pools: Map<string, Pool>, origin: string): Pool {
  let pool = pools.get(origin);
  if (pool === undefined) {
    pool = new Pool(origin, {
      // LLM_TIMEOUT_MS and LLM_IDLE_TIMEOUT_MS govern through the abort signal; undici's own
      // 300 s limits would otherwise cut a longer configured wait with a different error.
      headersTimeout: 0,
      bodyTimeout: 0,
      keepAliveTimeout: 30_000,
    });
    pools.set(origin, pool);
  }
  return pool;
}
