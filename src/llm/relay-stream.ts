import type { Dispatcher } from "undici";
import type { RelayedResult } from "./read-chat-completion.ts";
import type { RelayFrameReader } from "./relay-frame-reader.ts";
import { retryUpstreamCall, type UpstreamCall } from "./retry-upstream-call.ts";
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

/** What one protocol gives the relay loop: how to call its upstream and how to read the answer. */
export type RelayStreamProtocol = Readonly<{
  /** Sends one attempt; resolves once a 2xx status arrived, with the body still to read. */
  send(signal: AbortSignal): Promise<Dispatcher.ResponseData>;
  /** A new reader for each attempt's body. */
  createReader(): RelayFrameReader;
}>;

/**
 * A streaming call relayed frame by frame, whatever its protocol: each attempt under its deadline
 * (any chunk counts as activity; a full client socket pauses the body and the idle timer), the
 * frames `protocol`'s reader answers passed to `sink` as they come.
 *
 * Frames are held back until the first one with part of the reply (see `replyStarted`), so a
 * failure before it is still retried or fails over; after it a failure is thrown, for the caller
 * to end the stream with its error frame. A body that ends before the reader says the reply is
 * complete is such a failure: a truncated answer never passes for a finished one.
 */
export async function relayStream(
  call: UpstreamCall,
  protocol: RelayStreamProtocol,
  sink: RelayStreamSink,
): Promise<RelayedResult> {
  let replySent = false;
  return retryUpstreamCall(
    call,
    async (deadline) => {
      const response = await protocol.send(deadline.signal);
      const reader = protocol.createReader();
      const body = response.body;
      body.setEncoding("utf8");
      let held = "";
      const onText = (delta: string) => sink.text(delta);
      await new Promise<void>((resolve, reject) => {
        body.on("data", (piece: string) => {
          deadline.activity();
          let relay: string;
          try {
            relay = reader.push(piece, onText);
          } catch (error) {
            body.destroy();
            reject(error);
            return;
          }
          if (!replySent) {
            held += relay;
            if (!reader.replyStarted) return;
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
      if (!reader.complete) throw streamEndedEarly();
      // A reply with no content (no text, no tool call): its frames were all held back.
      if (held.length > 0) await sink.frames(held);
      return {
        text: reader.text,
        finishReason: reader.finishReason,
        usage: reader.usage,
        responseModel: reader.responseModel,
        toolCallCount: reader.toolCallCount,
      };
    },
    () => !replySent,
  );
}
