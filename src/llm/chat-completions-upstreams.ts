import type { Pool } from "undici";
import type { Config } from "../config.ts";
import type { ProviderName } from "./create-providers.ts";
import { originPool } from "./origin-pool.ts";

/** A provider that speaks OpenAI Chat Completions, reached without the AI SDK in between. */
export type ChatCompletionsUpstream = Readonly<{
  /** `<baseURL>/chat/completions`, for error reports. */
  url: string;
  /** The path part of `url`, as the pool wants it. */
  path: string;
  authorization: string;
  /** `<baseURL>/embeddings` and its path: the same origin, pool and credentials serve `/v1/embeddings`. */
  embeddingsUrl: string;
  embeddingsPath: string;
  /** Keep-alive connections to the base URL's origin, shared by every request. */
  pool: Pool;
}>;

export type ChatCompletionsUpstreams = {
  /** The configured providers that can be relayed: `openai` and `ollama`. */
  readonly byProvider: Partial<Record<ProviderName, ChatCompletionsUpstream>>;
  close(): Promise<void>;
};

/**
 * One undici pool per upstream origin, created once at boot. undici's `request()` costs a fraction
 * of `fetch()` (no WHATWG Request, Headers or web streams per call), which is most of what the
 * relay saves.
 */
export function createChatCompletionsUpstreams(
  config: Pick<Config, "openaiApiKey" | "openaiBaseUrl" | "ollamaBaseUrl">,
): ChatCompletionsUpstreams {
  const pools = new Map<string, Pool>();
  const upstream = (baseUrl: string, apiKey: string) => chatCompletionsUpstream(pools, baseUrl, apiKey);
  const byProvider: Partial<Record<ProviderName, ChatCompletionsUpstream>> = {};
  if (config.openaiBaseUrl !== undefined)
    byProvider.openai = upstream(config.openaiBaseUrl, config.openaiApiKey ?? "");
  // The AI SDK sends this placeholder key to Ollama too; Ollama ignores it.
  if (config.ollamaBaseUrl !== undefined) byProvider.ollama = upstream(config.ollamaBaseUrl, "ollama");
  return {
    byProvider,
    /** Waits for the requests in flight (streams still being relayed), then closes the sockets. */
    async close() {
      await Promise.all([...pools.values()].map((pool) => pool.close()));
    },
  };
}

/**
 * The upstream at `baseUrl`, over the pool of its origin in `pools` (made on first use), so every
 * upstream of one origin shares its keep-alive connections.
 */
export function chatCompletionsUpstream(
  pools: Map<string, Pool>,
  baseUrl: string,
  apiKey: string,
): ChatCompletionsUpstream {
  const base = baseUrl.replace(/\/+$/, "");
  const url = new URL(`${base}/chat/completions`);
  const embeddingsUrl = new URL(`${base}/embeddings`);
  const pool = originPool(pools, url.origin);
  return Object.freeze({
    url: url.href,
    path: `${url.pathname}${url.search}`,
    authorization: `Bearer ${apiKey}`,
    embeddingsUrl: embeddingsUrl.href,
    embeddingsPath: `${embeddingsUrl.pathname}${embeddingsUrl.search}`,
    pool,
  });
}
