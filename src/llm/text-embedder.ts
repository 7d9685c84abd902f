/**
 * Texts to vectors with one named embedding model, for the knowledge base: chunks at ingest,
 * questions at search time. Vectors come back L2-normalised, so a dot product is their cosine.
 */
export type TextEmbedder = {
  /** The model's name as `/v1/embeddings` resolves it (`EMBEDDINGS_MODEL`), recorded with each vector. */
  readonly model: string;
  /** One vector per text, in order; retried and timed like any model call. */
  embed(texts: readonly string[], signal?: AbortSignal): Promise<number[][]>;
};
