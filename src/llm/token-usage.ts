import type { LanguageModelV4Usage } from "@ai-sdk/provider";

export type TokenUsage = { inputTokens: number; outputTokens: number; totalTokens: number };

/** The AI SDK's usage; a count the provider did not give is 0. */
export function usageFromLanguageModel(usage: LanguageModelV4Usage): TokenUsage {
  return tokenUsage(usage.inputTokens.total ?? 0, usage.outputTokens.total ?? 0);
}

/** A Chat Completions `usage` object; undefined when the answer carries none. */
export function usageFromOpenAI(value: unknown): TokenUsage | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const usage = value as { prompt_tokens?: unknown; completion_tokens?: unknown };
  return tokenUsage(
    typeof usage.prompt_tokens === "number" ? usage.prompt_tokens : 0,
    typeof usage.completion_tokens === "number" ? usage.completion_tokens : 0,
  );
}

function tokenUsage(inputTokens: number, outputTokens: number): TokenUsage {
  return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens };
}
