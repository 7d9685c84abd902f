import type { EmbeddingModelV4 } from "@ai-sdk/provider";
import { createOpenAICompatibleProviders } from "./create-openai-compatible-providers.ts";
import type { ProviderName, ProvidersOptions } from "./create-providers.ts";
import { createEchoEmbeddingModel } from "./echo-embedding-model.ts";

/** Makes the embedding model for a model id of one provider. */
export type EmbeddingModelFactory = (modelId: string) => EmbeddingModelV4;

export type EmbeddingModels = Partial<Record<ProviderName, EmbeddingModelFactory>>;

/**
 * The model `POST /v1/embeddings` uses when the body names none: the default provider's usual
 * embedding model. `anthropic` has no embeddings API, so it has none.
 */
export const DEFAULT_EMBEDDING_MODEL_IDS: Readonly<Partial<Record<ProviderName, string>>> = {
  echo: "echo",
  openai: "text-embedding-3-small",
  ollama: "nomic-embed-text",
};

/**
 * The AI SDK embedding model of each configured provider that has one (echo always). A provider
 * that also speaks Chat Completions is relayed instead; these serve when no such upstream is set.
 */
export function createEmbeddingModels(options: ProvidersOptions): EmbeddingModels {
  const { config, fetch } = options;
  const models: EmbeddingModels = { echo: (modelId) => createEchoEmbeddingModel({ modelId }) };
  const { openai, ollama } = createOpenAICompatibleProviders(config, fetch);
  if (openai !== undefined) models.openai = (modelId) => openai.embedding(modelId);
  if (ollama !== undefined) models.ollama = (modelId) => ollama.embedding(modelId);
  return models;
}
