import type { FinishReason } from "./finish-reason.ts";
import type { TokenUsage } from "./token-usage.ts";

/**
 * Reads an upstream's event stream as it arrives and says which frames `relayStream` passes on.
 * This class splits the body into server-sent events (the same for every protocol the relay
 * speaks); each protocol's reader says what one event means (text, tool calls, finish, usage,
 * an error frame, the first real content) and which frame, if any, the client gets for it.
 *
 * A base class rather than a reader handed to a splitter, so that reading an event stays one
 * plain method call: nothing is allocated per chunk beyond the frames themselves.
 */
export abstract class RelayFrameReader {
  /** The reply's text so far. */
  text = "";
  finishReason: FinishReason | undefined;
  usage: TokenUsage | undefined;
  responseModel: string | undefined;
  /** Tool calls started so far, counted for the observer. */
  toolCallCount = 0;
  /**
   * An event carried part of the reply itself, not only its envelope: from here on what the
   * client got cannot be taken back by a retry.
   */
  replyStarted = false;
  /** The start of an event whose end has not arrived yet. */
  #partial = "";
  /** The last piece ended in CR: an LF starting the next one belongs to it. */
  #carriageReturn = false;

  /**
   * The upstream said the reply is complete; a body that ends before this was cut short, and a
   * truncated answer must never pass for a finished one.
   */
  abstract get complete(): boolean;

  /**
   * Takes the next piece of the body (decoded text) and answers the frames to relay, maybe "".
   * `onText` gets each non-empty text delta. Throws on a payload that is not JSON or on an error
   * frame from the upstream (`UpstreamStreamError`).
   */
  push(piece: string, onText: (delta: string) => void): string {
    let text = piece;
    if (this.#carriageReturn && text.charCodeAt(0) === 10) text = text.slice(1);
    this.#carriageReturn = false;
    // SSE allows CR and CRLF line ends; OpenAI, Anthropic and their peers send LF, so this is rarely taken.
    if (text.indexOf("\r") !== -1) {
      this.#carriageReturn = text.charCodeAt(text.length - 1) === 13;
      text = text.replace(/\r\n?/g, "\n");
    }
    const buffer = this.#partial.length === 0 ? text : this.#partial + text;
    let frames = "";
    let start = 0;
    for (;;) {
      const end = buffer.indexOf("\n\n", start);
      if (end === -1) break;
      if (end > start) frames += this.readEvent(buffer.slice(start, end), onText);
      start = end + 2;
    }
    this.#partial = start === 0 ? buffer : buffer.slice(start);
    return frames;
  }

  /** An event's `data:` lines joined by LF, as a client would dispatch them; undefined when it has none. */
  protected eventData(event: string): string | undefined {
    let data: string | undefined;
    for (const line of event.split("\n")) {
      if (!line.startsWith("data:")) continue;
      const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
      data = data === undefined ? value : `${data}\n${value}`;
    }
    return data;
  }

  /**
   * One whole event, its lines joined by LF and without the blank line that ended it: answers the
   * frame to relay for it (with its closing blank line), maybe "".
   */
  protected abstract readEvent(event: string, onText: (delta: string) => void): string;
}
