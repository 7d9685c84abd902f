import { createOpenAI, type OpenAIProvider } from "@ai-sdk/openai";
import type { Config } from "../config.ts";

/**
 * The AI SDK's OpenAI provider for each configured OpenAI-compatible upstream (`openai` and
 * `ollama`), for chat and embedding models alike.
 */
export function createOpenAICompatibleProviders(
  config: Pick<Config, "openaiApiKey" | "openaiBaseUrl" | "ollamaBaseUrl">,
  fetch: typeof globalThis.fetch | undefined,
): { openai?: OpenAIProvider; ollama?: OpenAIProvider } {
  return {
    openai:
      config.openaiBaseUrl === undefined
        ? undefined
        : createOpenAI({
            name: "openai",
            baseURL: config.openaiBaseUrl,
            apiKey: config.openaiApiKey ?? "",
            fetch,
          }),
    // The placeholder key the Ollama docs use; Ollama ignores it.
    ollama:
      config.ollamaBaseUrl === undefined
        ? undefined
        : createOpenAI({ name: "ollama", baseURL: config.ollamaBaseUrl, apiKey: "ollama", fetch }),
  };
}
