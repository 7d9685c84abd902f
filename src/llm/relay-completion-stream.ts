import { ChatCompletionFrames } from "./chat-completion-frames.ts";
import type { RelayedResult } from "./read-chat-completion.ts";
import type { RelayRequest } from "./relay-completion.ts";
import { type RelayStreamSink, relayStream } from "./relay-stream.ts";
import { sendChatCompletions } from "./send-chat-completions.ts";

/**
 * A streaming call relayed frame by frame (see `relayStream`, `ChatCompletionFrames`). The
 * upstream is always asked for usage (`request.body` must say `stream_options.include_usage`);
 * `includeUsage` says whether the client wants that frame too. The caller ends the stream with
 * `data: [DONE]`.
 */
export function relayCompletionStream(
  request: RelayRequest & Readonly<{ includeUsage: boolean }>,
  sink: RelayStreamSink,
): Promise<RelayedResult> {
  return relayStream(
    request,
    {
      send: (signal) =>
        sendChatCompletions(request.upstream, request.body, request.handle.upstreamHeaders(), signal),
      createReader: () => new ChatCompletionFrames({ includeUsage: request.includeUsage }),
    },
    sink,
  );
}
