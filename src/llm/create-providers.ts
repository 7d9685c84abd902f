import { createAnthropic } from "@ai-sdk/anthropic";
import type { LanguageModelV4 } from "@ai-sdk/provider";
import type { Config } from "../config.ts";
import { createOpenAICompatibleProviders } from "./create-openai-compatible-providers.ts";
import { createEchoModel } from "./echo-model.ts";

export const ProviderNames = ["openai", "anthropic", "ollama", "echo"] as const;
export type ProviderName = (typeof ProviderNames)[number];

/** Makes the language model for a model id of one provider. */
export type ModelFactory = (modelId: string) => LanguageModelV4;

export type ProvidersOptions = {
  config: Pick<
    Config,
    | "openaiApiKey"
    | "openaiBaseUrl"
    | "anthropicApiKey"
    | "anthropicBaseUrl"
    | "ollamaBaseUrl"
    | "echoDelayMs"
  >;
  /** Every upstream request goes through it; defaults to Node's fetch and its keep-alive pool. */
  fetch?: typeof globalThis.fetch;
};

/** What makes each provider usable, for the message that refuses one that is not. */
export const PROVIDER_SETTINGS: Readonly<Record<Exclude<ProviderName, "echo">, string>> = {
  openai: "OPENAI_API_KEY or OPENAI_BASE_URL",
  anthropic: "ANTHROPIC_API_KEY or ANTHROPIC_BASE_URL",
  ollama: "OLLAMA_BASE_URL",
};

/**
 * One AI SDK provider per configured name (echo always), built once so their connection pools are
 * shared by every request. A provider nobody configured is absent: no request can reach it.
 * API keys are always passed as strings: the SDK would otherwise read `process.env` itself.
 */
export function createProviders(options: ProvidersOptions): Partial<Record<ProviderName, ModelFactory>> {
  const { config, fetch } = options;
  const providers: Partial<Record<ProviderName, ModelFactory>> = {
    echo: (modelId) => createEchoModel({ modelId, delayMs: config.echoDelayMs }),
  };
  const { openai, ollama } = createOpenAICompatibleProviders(config, fetch);
  // Chat Completions, not the Responses API: it is what vLLM, llama.cpp, LM Studio and Groq speak.
  if (openai !== undefined) providers.openai = (modelId) => openai.chat(modelId);
  if (ollama !== undefined) providers.ollama = (modelId) => ollama.chat(modelId);
  if (config.anthropicBaseUrl !== undefined) {
    const anthropic = createAnthropic({
      name: "anthropic",
      baseURL: config.anthropicBaseUrl,
      apiKey: config.anthropicApiKey ?? "",
      fetch,
    });
    providers.anthropic = (modelId) => anthropic.messages(modelId);
  }
  return providers;
}
