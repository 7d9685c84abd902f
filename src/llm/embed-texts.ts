import type { EmbeddingModelV4 } from "@ai-sdk/provider";
import { retryUpstreamCall, type UpstreamCall } from "./retry-upstream-call.ts";

/** Texts embedded through the AI SDK's embedding-model interface. */
export type EmbedTextsRequest = UpstreamCall &
  Readonly<{
    model: EmbeddingModelV4;
    texts: readonly string[];
    dimensions: number | undefined;
    /** OpenAI's end-user id, which `@ai-sdk/openai` carries as a provider option. */
    user: string | undefined;
  }>;

export type EmbedTextsResult = {
  /** In the order of `texts`. */
  embeddings: number[][];
  /** Undefined when the provider did not report usage. */
  inputTokens: number | undefined;
};

/** `ai` is large and only embeddings use it; load it on the first call, not at every start. */
let embedManyModule: Promise<typeof import("ai")> | undefined;

/**
 * The AI SDK's `embedMany` (which splits a batch the model cannot take at once), with its own
 * retries off: ours retry the whole call before anything reaches the client, each attempt under
 * `LLM_TIMEOUT_MS`, and map failures as every other model call does.
 */
export async function embedTexts(request: EmbedTextsRequest): Promise<EmbedTextsResult> {
  embedManyModule ??= import("ai");
  const { embedMany } = await embedManyModule;
  return retryUpstreamCall(request, async (deadline) => {
    const result = await embedMany({
      model: request.model,
      values: [...request.texts],
      dimensions: request.dimensions,
      maxRetries: 0,
      abortSignal: deadline.signal,
      headers: request.handle.upstreamHeaders(),
      providerOptions: request.user === undefined ? undefined : { openai: { user: request.user } },
    });
    const tokens = result.usage.tokens;
    return { embeddings: result.embeddings, inputTokens: Number.isFinite(tokens) ? tokens : undefined };
  });
}
