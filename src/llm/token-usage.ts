import type { LanguageModelV4Usage } from "@ai-sdk/provider";

export type TokenUsage = {
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  /** Input tokens read from the provider's prompt cache, when it says. */
  cachedInputTokens?: number;
  /** Input tokens written to the provider's prompt cache (Anthropic), when it says. */
  cacheWriteTokens?: number;
  /** Output tokens spent reasoning, when it says. */
  reasoningTokens?: number;
};

/** The AI SDK's usage; a count the provider did not give is 0, a detail it did not give is left out. */
export function usageFromLanguageModel(usage: LanguageModelV4Usage): TokenUsage {
  return withDetails(tokenUsage(usage.inputTokens.total ?? 0, usage.outputTokens.total ?? 0), {
    cachedInputTokens: usage.inputTokens.cacheRead,
    cacheWriteTokens: usage.inputTokens.cacheWrite,
    reasoningTokens: usage.outputTokens.reasoning,
  });
}

/** A Chat Completions `usage` object; undefined when the answer carries none. */
export function usageFromOpenAI(value: unknown): TokenUsage | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const usage = value as {
    prompt_tokens?: unknown;
    completion_tokens?: unknown;
    prompt_tokens_details?: { cached_tokens?: unknown } | null;
    completion_tokens_details?: { reasoning_tokens?: unknown } | null;
  };
  return withDetails(tokenUsage(numberOr0(usage.prompt_tokens), numberOr0(usage.completion_tokens)), {
    cachedInputTokens: numberOrUndefined(usage.prompt_tokens_details?.cached_tokens),
    reasoningTokens: numberOrUndefined(usage.completion_tokens_details?.reasoning_tokens),
  });
}

/**
 * Anthropic's `usage` object (a whole answer's, or the latest of a stream's, merged onto `earlier`).
 * Its `input_tokens` leave the cache reads and writes out; ours count them in, as the AI SDK does.
 */
export function usageFromAnthropic(value: unknown, earlier?: TokenUsage): TokenUsage | undefined {
  if (typeof value !== "object" || value === null) return earlier;
  const usage = value as {
    input_tokens?: unknown;
    output_tokens?: unknown;
    cache_read_input_tokens?: unknown;
    cache_creation_input_tokens?: unknown;
  };
  const cacheRead = numberOrUndefined(usage.cache_read_input_tokens) ?? earlier?.cachedInputTokens;
  const cacheWrite = numberOrUndefined(usage.cache_creation_input_tokens) ?? earlier?.cacheWriteTokens;
  const uncached = numberOrUndefined(usage.input_tokens);
  const input =
    uncached === undefined ? (earlier?.inputTokens ?? 0) : uncached + (cacheRead ?? 0) + (cacheWrite ?? 0);
  const output = numberOrUndefined(usage.output_tokens) ?? earlier?.outputTokens ?? 0;
  return withDetails(tokenUsage(input, output), {
    cachedInputTokens: cacheRead,
    cacheWriteTokens: cacheWrite,
  });
}

function tokenUsage(inputTokens: number, outputTokens: number): TokenUsage {
  return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens };
}

function withDetails(
  usage: TokenUsage,
  details: Pick<TokenUsage, "cachedInputTokens" | "cacheWriteTokens" | "reasoningTokens">,
): TokenUsage {
  for (const [name, count] of Object.entries(details)) {
    if (count !== undefined) usage[name as keyof typeof details] = count;
  }
  return usage;
}

function numberOr0(value: unknown): number {
  return typeof value === "number" ? value : 0;
}

function numberOrUndefined(value: unknown): number | undefined {
  return typeof value === "number" ? value : undefined;
}
