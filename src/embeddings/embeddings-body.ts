/** `POST /v1/embeddings` as the client sent it (the route's schema has checked the known fields). */
export type EmbeddingsBody = Readonly<{
  model?: string | null;
  input: string | readonly string[] | readonly number[] | readonly (readonly number[])[];
  encoding_format?: "float" | "base64" | null;
  dimensions?: number | null;
  user?: string | null;
  /** Anything else (vLLM's `truncate_prompt_tokens`, ...): relayed as is, or refused by name. */
  [field: string]: unknown;
}>;

/** The input as one list: texts, or token-id arrays (which only a relayed upstream can take). */
export type EmbeddingsInput =
  | Readonly<{ kind: "texts"; texts: readonly string[] }>
  | Readonly<{ kind: "tokens"; tokens: readonly (readonly number[])[] }>;
