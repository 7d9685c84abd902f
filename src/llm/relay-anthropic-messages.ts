import { AnthropicMessageEvents } from "./anthropic-message-events.ts";
import type { AnthropicMessagesUpstream } from "./anthropic-messages-upstream.ts";
import { readAnthropicMessage } from "./read-anthropic-message.ts";
import type { RelayedResult } from "./read-chat-completion.ts";
import type { RelayStreamSink } from "./relay-completion-stream.ts";
import { retryUpstreamCall, type UpstreamCall } from "./retry-upstream-call.ts";
import {
  type AnthropicPost,
  fetchAnthropicMessages,
  sendAnthropicMessages,
} from "./send-anthropic-messages.ts";
import { streamEndedEarly } from "./stream-ended-early.ts";

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
 * A streaming call relayed event by event (see `AnthropicMessageEvents`). Events are held back
 * until the first one with part of the reply, so a failure before it is still retried; after it a
 * failure is thrown, and the stream ends with the service's `error` event. A stream that ends
 * without `message_stop` is such a failure: a truncated answer never passes for a finished one.
 */
export async function relayAnthropicMessagesStream(
  request: AnthropicRelayRequest,
  sink: RelayStreamSink,
): Promise<RelayedResult> {
  let replySent = false;
  return retryUpstreamCall(
    request,
    async (deadline) => {
      const response = await sendAnthropicMessages(post(request, "messages", deadline.signal));
      const events = new AnthropicMessageEvents();
      const body = response.body;
      body.setEncoding("utf8");
      let held = "";
      const onText = (delta: string) => sink.text(delta);
      await new Promise<void>((resolve, reject) => {
        body.on("data", (piece: string) => {
          deadline.activity();
          let relay: string;
          try {
            relay = events.push(piece, onText);
          } catch (error) {
            body.destroy();
            reject(error);
            return;
          }
          if (!replySent) {
            held += relay;
            if (!events.replyStarted) return;
            relay = held;
            held = "";
            replySent = true;
          }
          if (relay.length === 0) return;
          const pending = sink.frames(relay);
          if (pending === undefined) return;
          body.pause();
          deadline.suspend();
          pending.then(() => {
            deadline.activity();
            body.resume();
          });
        });
        body.once("end", resolve);
        body.once("error", reject);
      });
      if (!events.done) throw streamEndedEarly();
      // A reply without any content block: its events were all held back.
      if (held.length > 0) await sink.frames(held);
      return {
        text: events.text,
        finishReason: events.finishReason,
        usage: events.usage,
        responseModel: events.responseModel,
        toolCallCount: events.toolCallCount,
      };
    },
    () => !replySent,
  );
}
