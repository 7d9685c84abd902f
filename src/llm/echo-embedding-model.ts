import type { EmbeddingModelV4, EmbeddingModelV4CallOptions, EmbeddingModelV4Result } from "@ai-sdk/provider";
import { ServiceError } from "../errors/service-error.ts";

export const ECHO_EMBEDDING_DIMENSIONS = 256;
/** As many as the largest OpenAI embedding model gives; more would only cost memory. */
export const ECHO_EMBEDDING_MAX_DIMENSIONS = 4096;

/** Words as the echo language model counts them, lower-cased so "Cat" and "cat" share a slot. */
const WORD = /[\p{L}\p{N}]+/gu;

/**
 * The built-in embedding model: no key, no network, deterministic. It is not semantic: each
 * word is hashed to one slot of the vector (feature hashing), with a sign from the hash so
 * collisions cancel rather than pile up, and the vector is L2-normalised. Texts that share words
 * are therefore close, which is enough to try a retrieval pipeline end to end.
 */
export function createEchoEmbeddingModel(options: { modelId: string }): EmbeddingModelV4 {
  return {
    specificationVersion: "v4",
    provider: "echo",
    modelId: options.modelId,
    maxEmbeddingsPerCall: Number.POSITIVE_INFINITY,
    supportsParallelCalls: true,
    async doEmbed(call: EmbeddingModelV4CallOptions): Promise<EmbeddingModelV4Result> {
      if (call.abortSignal?.aborted) throw call.abortSignal.reason;
      const dimensions = call.dimensions ?? ECHO_EMBEDDING_DIMENSIONS;
      if (dimensions > ECHO_EMBEDDING_MAX_DIMENSIONS) {
        throw new ServiceError({
          code: "VALIDATION_FAILED",
          message: `the echo embedding model gives at most ${ECHO_EMBEDDING_MAX_DIMENSIONS} dimensions, got ${dimensions}`,
          param: "dimensions",
        });
      }
      let tokens = 0;
      const embeddings = call.values.map((text) => {
        const words = text.toLowerCase().match(WORD) ?? [];
        tokens += words.length;
        return hashedEmbedding(words.length > 0 ? words : [text], dimensions);
      });
      return { embeddings, usage: { tokens }, warnings: [] };
    },
  };
}

/** `features` hashed into `dimensions` signed slots, L2-normalised (a text with no word hashes as a whole). */
export function hashedEmbedding(features: readonly string[], dimensions: number): number[] {
  const vector = new Float64Array(dimensions);
  for (const feature of features) {
    const hash = fnv1a(feature);
    vector[hash % dimensions] += hash & 0x8000_0000 ? -1 : 1;
  }
  let norm = 0;
  for (const value of vector) norm += value * value;
  norm = Math.sqrt(norm);
  // Opposite signs can cancel out entirely; a zero vector is then the honest answer.
  return Array.from(vector, (value) => (norm === 0 ? 0 : value / norm));
}

/** 32-bit FNV-1a over the UTF-16 code units: small, fast and stable across runs and machines. */
function fnv1a(text: string): number {
  let hash = 0x811c_9dc5;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x0100_0193);
  }
  return hash >>> 0;
}
