import { AnthropicMessageEvents } from "./anthropic-message-events.ts";
import type { AnthropicMessagesUpstream } from "./anthropic-messages-upstream.ts";
import { readAnthropicMessage } from "./read-anthropic-message.ts";
import type { RelayedResult } from "./read-chat-completion.ts";
import { type RelayStreamSink, relayStream } from "./relay-stream.ts";
import { retryUpstreamCall, type UpstreamCall } from "./retry-upstream-call.ts";
import {
  type AnthropicPost,
  fetchAnthropicMessages,
  sendAnthropicMessages,
} from "./send-anthropic-messages.ts";

/** One call relayed to the Messages API. */
export type AnthropicRelayRequest = UpstreamCall &
  Readonly<{
    upstream: AnthropicMessagesUpstream;
    /** The upstream request's JSON body. */
    body: string;
    clientHeaders: AnthropicPost["clientHeaders"];
  }>;

function post(
  request: AnthropicRelayRequest,
  endpoint: AnthropicPost["endpoint"],
  signal: AbortSignal,
): AnthropicPost {
  return {
    upstream: request.upstream,
    endpoint,
    body: request.body,
    clientHeaders: request.clientHeaders,
    traceHeaders: request.handle.upstreamHeaders(),
    signal,
  };
}

/**
 * A non-streaming call relayed as is: the upstream's JSON comes back untouched for the client,
 * read once for the observer. Retried like `relayCompletion`.
 */
export function relayAnthropicMessage(
  request: AnthropicRelayRequest,
): Promise<{ body: string; result: RelayedResult }> {
  return retryUpstreamCall(request, async (deadline) => {
    const body = await fetchAnthropicMessages(post(request, "messages", deadline.signal));
    return { body, result: readAnthropicMessage(body) };
  });
}

/** `count_tokens` relayed as is: the upstream's count, never one of ours. Retried the same way. */
export function relayAnthropicTokenCount(request: AnthropicRelayRequest): Promise<string> {
  return retryUpstreamCall(request, (deadline) =>
    fetchAnthropicMessages(post(request, "count_tokens", deadline.signal)),
  );
}

/**
 * A streaming call relayed event by event (see `relayStream`, `AnthropicMessageEvents`): every
 * event as the upstream wrote it, until `message_stop`. A failure after the first content ends
 * the stream with the service's `error` event.
 */
export function relayAnthropicMessagesStream(
  request: AnthropicRelayRequest,
  sink: RelayStreamSink,
): Promise<RelayedResult> {
  return relayStream(
    request,
    {
      send: (signal) => sendAnthropicMessages(post(request, "messages", signal)),
      createReader: () => new AnthropicMessageEvents(),
    },
    sink,
  );
}
