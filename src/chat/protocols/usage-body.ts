import type { TokenUsage } from "../../llm/token-usage.ts";

/**
 * Token counts in the wire form every endpoint uses: OpenAI's `usage` object, with its
 * `prompt_tokens_details.cached_tokens` and `completion_tokens_details.reasoning_tokens` when the
 * provider counted any (the AI SDK reports 0 for counts a provider never gives, so 0 says
 * nothing). Cache writes (Anthropic's) have no OpenAI field: they are
 * `cache_creation_input_tokens`, as LiteLLM names them.
 */
export function usageBody(usage: TokenUsage | undefined) {
  const inputTokens = usage?.inputTokens ?? 0;
  const outputTokens = usage?.outputTokens ?? 0;
  return {
    prompt_tokens: inputTokens,
    completion_tokens: outputTokens,
    total_tokens: usage?.totalTokens ?? inputTokens + outputTokens,
    ...(!usage?.cachedInputTokens
      ? {}
      : { prompt_tokens_details: { cached_tokens: usage.cachedInputTokens } }),
    ...(!usage?.reasoningTokens
      ? {}
      : { completion_tokens_details: { reasoning_tokens: usage.reasoningTokens } }),
    ...(!usage?.cacheWriteTokens ? {} : { cache_creation_input_tokens: usage.cacheWriteTokens }),
  };
}
