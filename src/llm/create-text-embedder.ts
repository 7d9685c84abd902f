import { ServiceError } from "../errors/service-error.ts";
import type { UpstreamLimits } from "./completion-request.ts";
import type { EmbeddingModels } from "./create-embedding-models.ts";
import { embedTexts } from "./embed-texts.ts";
import { type LlmCallObserver, noopLlmCallObserver } from "./llm-call-observer.ts";
import type { ResolvedModel } from "./model-registry.ts";
import { relayEmbeddings } from "./relay-embeddings.ts";
import type { TextEmbedder } from "./text-embedder.ts";

export type CreateTextEmbedderOptions = {
  /** The model that embeds (`EMBEDDINGS_MODEL` resolved, or the models file's `embeddings: true` one). */
  model: ResolvedModel;
  /** Where the model was named, for the error that refuses one without embeddings. */
  setting: string;
  embeddingModels: EmbeddingModels;
  limits: UpstreamLimits;
  /** Told about each call, as `/v1/embeddings` calls are (metrics, traces). */
  observer?: LlmCallObserver;
};

/**
 * The knowledge base's embedder, on the same two paths as `POST /v1/embeddings`: an upstream that
 * speaks OpenAI's API gets `{model, input}` at `<baseURL>/embeddings`, any other provider with an
 * AI SDK embedding model (the built-in echo one) goes through `embedMany`. The model is resolved
 * at once, so a name no provider serves fails the start rather than the first ingest.
 */
export function createTextEmbedder(options: CreateTextEmbedderOptions): TextEmbedder {
  const resolved = options.model;
  const factory = options.embeddingModels[resolved.provider];
  if (resolved.chatCompletions === undefined && factory === undefined) {
    throw new ServiceError({
      code: "UNKNOWN_MODEL",
      message: `${options.setting}: the ${resolved.provider} provider offers no embeddings.`,
    });
  }
  const observer = options.observer ?? noopLlmCallObserver;
  return {
    model: resolved.name,
    async embed(texts, signal = new AbortController().signal) {
      if (texts.length === 0) return [];
      const handle = observer.start({
        requestId: "knowledge",
        kind: "openai_embeddings",
        path: "knowledge",
        method: "POST",
        provider: resolved.provider,
        model: resolved.modelId,
        streaming: false,
        messages: [],
        input: [...texts],
        parameters: {},
      });
      try {
        let vectors: number[][];
        let inputTokens: number | undefined;
        if (resolved.chatCompletions !== undefined) {
          const { body, summary } = await relayEmbeddings({
            upstream: resolved.chatCompletions,
            body: JSON.stringify({ model: resolved.modelId, input: texts, encoding_format: "float" }),
            signal,
            handle,
            limits: options.limits,
          });
          vectors = readVectors(body, texts.length);
          inputTokens = summary.inputTokens;
        } else {
          const result = await embedTexts({
            model: (factory as NonNullable<typeof factory>)(resolved.modelId),
            texts,
            dimensions: undefined,
            user: undefined,
            signal,
            handle,
            limits: options.limits,
          });
          vectors = result.embeddings;
          inputTokens = result.inputTokens;
        }
        handle.end({ outcome: "success", inputTokens, output: "" });
        return vectors.map(normalise);
      } catch (error) {
        handle.end({ outcome: "error", errorType: (error as { code?: string }).code ?? "error", output: "" });
        throw error;
      }
    },
  };
}

/** OpenAI's `data[].embedding`, put back in input order by `index`. */
function readVectors(body: string, count: number): number[][] {
  const answer = JSON.parse(body) as { data?: { index?: number; embedding?: unknown }[] };
  const vectors: number[][] = new Array(count);
  for (const [position, item] of (answer.data ?? []).entries()) {
    const index = typeof item.index === "number" ? item.index : position;
    if (Array.isArray(item.embedding)) vectors[index] = item.embedding as number[];
  }
  for (let index = 0; index < count; index += 1) {
    if (vectors[index] === undefined) {
      throw new ServiceError({
        code: "UPSTREAM_ERROR",
        message: `The embeddings upstream answered no vector for input ${index}.`,
      });
    }
  }
  return vectors;
}

function normalise(vector: readonly number[]): number[] {
  let sum = 0;
  for (const value of vector) sum += value * value;
  const length = Math.sqrt(sum);
  return length === 0 ? [...vector] : vector.map((value) => value / length);
}
