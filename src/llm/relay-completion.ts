import type { ChatCompletionsUpstream } from "./chat-completions-upstreams.ts";
import { type RelayedResult, readChatCompletion } from "./read-chat-completion.ts";
import { retryUpstreamCall, type UpstreamCall } from "./retry-upstream-call.ts";
import { fetchChatCompletion } from "./send-chat-completions.ts";

/** One call relayed to a Chat Completions upstream. */
export type RelayRequest = UpstreamCall &
  Readonly<{
    upstream: ChatCompletionsUpstream;
    /** The upstream request's JSON body. */
    body: string;
  }>;

/**
 * A non-streaming call relayed as is: the upstream's JSON comes back untouched for the client,
 * with what the observer needs read from it once. Retried like `generateCompletion`.
 */
export async function relayCompletion(
  request: RelayRequest,
): Promise<{ body: string; result: RelayedResult }> {
  return retryUpstreamCall(request, async (deadline) => {
    const body = await fetchChatCompletion(
      request.upstream,
      request.body,
      request.handle.upstreamHeaders(),
      deadline.signal,
    );
    return { body, result: readChatCompletion(body) };
  });
}
