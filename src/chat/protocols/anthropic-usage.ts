import type { TokenUsage } from "../../llm/token-usage.ts";

/**
 * Token counts as Anthropic's `usage` object gives them: `input_tokens` are the uncached ones, so
 * the cache reads and writes (counted in our input total, as the AI SDK counts them) come off it.
 */
export function anthropicUsage(usage: TokenUsage | undefined) {
  const cacheRead = usage?.cachedInputTokens ?? 0;
  const cacheWrite = usage?.cacheWriteTokens ?? 0;
  return {
    input_tokens: Math.max(0, (usage?.inputTokens ?? 0) - cacheRead - cacheWrite),
    output_tokens: usage?.outputTokens ?? 0,
    cache_creation_input_tokens: cacheWrite,
    cache_read_input_tokens: cacheRead,
  };
}
