import type { TokenUsage } from "../../llm/token-usage.ts";

/** Token counts in the wire form every endpoint uses: OpenAI's `usage` object. */
export function usageBody(usage: TokenUsage | undefined) {
  const inputTokens = usage?.inputTokens ?? 0;
  const outputTokens = usage?.outputTokens ?? 0;
  return {
    prompt_tokens: inputTokens,
    completion_tokens: outputTokens,
    total_tokens: usage?.totalTokens ?? inputTokens + outputTokens,
  };
}
