import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAI } from "@ai-sdk/openai";
import type { LanguageModelV4 } from "@ai-sdk/provider";
import type { Config } from "../config.ts";
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

/**
 * One AI SDK provider per name, built once so their connection pools are shared by every request.
 * API keys are always passed as strings: the SDK would otherwise read `process.env` itself.
 */
export function createProviders(options: ProvidersOptions): Record<ProviderName, ModelFactory> {
  const { config, fetch } = options;
  // Chat Completions, not the Responses API: it is what vLLM, llama.cpp, LM Studio and Groq speak.
  const openai = createOpenAI({
    name: "openai",
    baseURL: config.openaiBaseUrl,
    apiKey: config.openaiApiKey ?? "",
    fetch,
  });
  const ollama = createOpenAI({ name: "ollama", baseURL: config.ollamaBaseUrl, apiKey: "ollama", fetch });
  const anthropic = createAnthropic({
    name: "anthropic",
    baseURL: config.anthropicBaseUrl,
    apiKey: config.anthropicApiKey ?? "",
    fetch,
  });
  return {
    openai: (modelId) => openai.chat(modelId),
    ollama: (modelId) => ollama.chat(modelId),
    anthropic: (modelId) => anthropic.messages(modelId),
    echo: (modelId) => createEchoModel({ modelId, delayMs: config.echoDelayMs }),
  };
}
