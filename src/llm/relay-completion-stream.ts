import { ChatCompletionFrames } from "./chat-completion-frames.ts";
import type { RelayedResult } from "./read-chat-completion.ts";
import type { RelayRequest } from "./relay-completion.ts";
import { retryUpstreamCall } from "./retry-upstream-call.ts";
import { sendChatCompletions } from "./send-chat-completions.ts";
import { streamEndedEarly } from "./stream-ended-early.ts";

export type RelayStreamSink = {
  /** A content delta of the reply, before the frames that carry it are passed to `frames`. */
  text(delta: string): void;
  /**
   * Frames for the client. A promise when its socket is full: nothing more is read from the
   * upstream until it settles, so memory stays bounded.
   */
  frames(frames: string): Promise<void> | undefined;
};

/**
 * A streaming call relayed frame by frame (see `ChatCompletionFrames`). The upstream is always
 * asked for usage (`request.body` must say `stream_options.include_usage`); `includeUsage` says
 * whether the client wants that frame too.
 *
 * Frames are held back until the first one with part of the reply (text, a tool call), so a
 * failure before it is still retried, as `streamCompletion` does; after it a failure is thrown.
 * The caller ends the stream with `data: [DONE]`.
 */
export async function relayCompletionStream(
  request: RelayRequest & Readonly<{ includeUsage: boolean }>,
  sink: RelayStreamSink,
): Promise<RelayedResult> {
  let replySent = false;
  return retryUpstreamCall(
    request,
    async (deadline) => {
      const response = await sendChatCompletions(
        request.upstream,
        request.body,
        request.handle.upstreamHeaders(),
        deadline.signal,
      );
      const frames = new ChatCompletionFrames({ includeUsage: request.includeUsage });
      const body = response.body;
      body.setEncoding("utf8");
      let held = "";
      const onText = (delta: string) => sink.text(delta);
      await new Promise<void>((resolve, reject) => {
        body.on("data", (piece: string) => {
          deadline.activity();
          let relay: string;
          try {
            relay = frames.push(piece, onText);
          } catch (error) {
            body.destroy();
            reject(error);
            return;
          }
          if (!replySent) {
            held += relay;
            if (!frames.replyStarted) return;
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
      if (!frames.done && frames.finishReason === undefined) throw streamEndedEarly();
      // A reply without text: its frames (role, finish, usage) were all held back.
      if (held.length > 0) await sink.frames(held);
      return {
        text: frames.text,
        finishReason: frames.finishReason,
        usage: frames.usage,
        responseModel: frames.responseModel,
        toolCallCount: frames.toolCallCount,
      };
    },
    () => !replySent,
  );
}
