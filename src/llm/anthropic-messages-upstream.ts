import type { Pool } from "undici";
import type { Config } from "../config.ts";
import { originPool } from "./origin-pool.ts";

/** The `anthropic` provider's Messages API, reached without the AI SDK in between. */
export type AnthropicMessagesUpstream = Readonly<{
  /** `<baseURL>/messages`, for error reports. */
  url: string;
  /** The path part of `url`, as the pool wants it. */
  path: string;
  /** `<baseURL>/messages/count_tokens` and its path. */
  countTokensUrl: string;
  countTokensPath: string;
  apiKey: string;
  /** Keep-alive connections to the base URL's origin, shared by every request. */
  pool: Pool;
}>;

export type AnthropicMessagesUpstreams = {
  /** Undefined when the `anthropic` provider is not configured. */
  readonly upstream: AnthropicMessagesUpstream | undefined;
  close(): Promise<void>;
};

/** What `anthropic-version` the relay sends when the client sent none: the API's stable version. */
export const DEFAULT_ANTHROPIC_VERSION = "2023-06-01";

/**
 * One undici pool for `ANTHROPIC_BASE_URL`, created once at boot, for `/v1/messages` to relay to
 * natively (the client's body on, Anthropic's events back) as the Chat Completions relay does.
 */
export function createAnthropicMessagesUpstreams(
  config: Pick<Config, "anthropicApiKey" | "anthropicBaseUrl">,
): AnthropicMessagesUpstreams {
  if (config.anthropicBaseUrl === undefined) return { upstream: undefined, close: async () => {} };
  const pools = new Map<string, Pool>();
  const upstream = anthropicMessagesUpstream(pools, config.anthropicBaseUrl, config.anthropicApiKey ?? "");
  return { upstream, close: () => upstream.pool.close() };
}

/** The Messages API at `baseUrl`, over the pool of its origin in `pools` (made on first use). */
export function anthropicMessagesUpstream(
  pools: Map<string, Pool>,
  baseUrl: string,
  apiKey: string,
): AnthropicMessagesUpstream {
  const base = baseUrl.replace(/\/+$/, "");
  const url = new URL(`${base}/messages`);
  const countTokensUrl = new URL(`${base}/messages/count_tokens`);
  return Object.freeze({
    url: url.href,
    path: `${url.pathname}${url.search}`,
    countTokensUrl: countTokensUrl.href,
    countTokensPath: `${countTokensUrl.pathname}${countTokensUrl.search}`,
    apiKey,
    pool: originPool(pools, url.origin),
  });
}
