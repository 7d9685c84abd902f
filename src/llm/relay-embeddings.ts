import type { ChatCompletionsUpstream } from "./chat-completions-upstreams.ts";
import { type EmbeddingsSummary, readEmbeddingsSummary } from "./read-embeddings-summary.ts";
import { retryUpstreamCall, type UpstreamCall } from "./retry-upstream-call.ts";
import { fetchChatCompletion } from "./send-chat-completions.ts";

/** One `POST <baseURL>/embeddings` relayed to an OpenAI-compatible upstream. */
export type EmbeddingsRelayRequest = UpstreamCall &
  Readonly<{
    upstream: ChatCompletionsUpstream;
    /** The upstream request's JSON body. */
    body: string;
  }>;

/**
 * The upstream's JSON answer untouched, for the client, with its model and usage read for the
 * observer. Retried, timed and mapped like a relayed chat completion: the same POST on the same
 * pooled origin and credentials, only to `/embeddings`.
 */
export async function relayEmbeddings(
  request: EmbeddingsRelayRequest,
): Promise<{ body: string; summary: EmbeddingsSummary }> {
  const { upstream } = request;
  const endpoint = { ...upstream, url: upstream.embeddingsUrl, path: upstream.embeddingsPath };
  return retryUpstreamCall(request, async (deadline) => {
    const body = await fetchChatCompletion(
      endpoint,
      request.body,
      request.handle.upstreamHeaders(),
      deadline.signal,
    );
    return { body, summary: readEmbeddingsSummary(body) };
  });
}
