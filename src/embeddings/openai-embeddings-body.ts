export type OpenAIEmbeddingsBodyOptions = Readonly<{
  embeddings: readonly (readonly number[])[];
  encodingFormat: "float" | "base64";
  model: string;
  /** Reported as 0 when the provider did not say. */
  inputTokens: number | undefined;
}>;

/** OpenAI's embeddings answer, as JSON text: `{"object": "list", "data": [...], "model", "usage"}`. */
export function openAIEmbeddingsBody(options: OpenAIEmbeddingsBodyOptions): string {
  const tokens = options.inputTokens ?? 0;
  return JSON.stringify({
    object: "list",
    data: options.embeddings.map((embedding, index) => ({
      object: "embedding",
      index,
      embedding: options.encodingFormat === "base64" ? float32Base64(embedding) : embedding,
    })),
    model: options.model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  });
}

/** The vector as little-endian float32, base64-encoded: what OpenAI sends for `encoding_format: "base64"`. */
export function float32Base64(embedding: readonly number[]): string {
  const bytes = Buffer.allocUnsafe(embedding.length * 4);
  for (const [index, value] of embedding.entries()) bytes.writeFloatLE(value, index * 4);
  return bytes.toString("base64");
}
