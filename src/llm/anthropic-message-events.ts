import { UpstreamStreamError } from "./chat-completion-frames.ts";
import { type FinishReason, finishReasonFromAnthropic } from "./finish-reason.ts";
import { type TokenUsage, usageFromAnthropic } from "./token-usage.ts";

type EventJson = {
  type?: unknown;
  message?: { model?: unknown; usage?: unknown } | null;
  content_block?: { type?: unknown } | null;
  delta?: { type?: unknown; text?: unknown; stop_reason?: unknown } | null;
  usage?: unknown;
  error?: unknown;
};

/**
 * Reads an upstream's Messages event stream as it arrives and says which events to pass on: every
 * event as the upstream wrote it. Each `data:` payload is parsed once, for the text, stop reason,
 * usage (cache reads and writes included) and tool calls. An `error` event is thrown rather than
 * passed on, so the client gets the service's own `error` event with a message that leaks nothing.
 */
export class AnthropicMessageEvents {
  /** The reply's text so far. */
  text = "";
  finishReason: FinishReason | undefined;
  usage: TokenUsage | undefined;
  responseModel: string | undefined;
  /** `tool_use` blocks started so far. */
  toolCallCount = 0;
  /** The upstream sent `message_stop`. */
  done = false;
  /**
   * An event carried part of the reply itself (a delta, a tool call): from here on what the client
   * got cannot be taken back by a retry.
   */
  replyStarted = false;
  /** The start of an event whose end has not arrived yet. */
  #partial = "";
  /** The last piece ended in CR: an LF starting the next one belongs to it. */
  #carriageReturn = false;

  /**
   * Takes the next piece of the body (decoded text) and answers the events to relay, maybe "".
   * `onText` gets each non-empty text delta. Throws on a payload that is not JSON or on an
   * `error` event.
   */
  push(piece: string, onText: (delta: string) => void): string {
    let text = piece;
    if (this.#carriageReturn && text.charCodeAt(0) === 10) text = text.slice(1);
    this.#carriageReturn = false;
    if (text.indexOf("\r") !== -1) {
      this.#carriageReturn = text.charCodeAt(text.length - 1) === 13;
      text = text.replace(/\r\n?/g, "\n");
    }
    const buffer = this.#partial.length === 0 ? text : this.#partial + text;
    let events = "";
    let start = 0;
    for (;;) {
      const end = buffer.indexOf("\n\n", start);
      if (end === -1) break;
      if (end > start) events += this.#event(buffer.slice(start, end), onText);
      start = end + 2;
    }
    this.#partial = start === 0 ? buffer : buffer.slice(start);
    return events;
  }

  #event(event: string, onText: (delta: string) => void): string {
    let data: string | undefined;
    for (const line of event.split("\n")) {
      if (!line.startsWith("data:")) continue;
      const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
      data = data === undefined ? value : `${data}\n${value}`;
    }
    // A comment or an event without data: nothing a client would dispatch.
    if (data === undefined) return "";
    const json = JSON.parse(data) as EventJson;
    if (json.type === "error" || (json.error !== undefined && json.error !== null))
      throw new UpstreamStreamError(json.error);
    switch (json.type) {
      case "message_start":
        if (typeof json.message?.model === "string") this.responseModel = json.message.model;
        this.usage = usageFromAnthropic(json.message?.usage, this.usage);
        break;
      case "content_block_start":
        if (json.content_block?.type === "tool_use") {
          this.toolCallCount += 1;
          this.replyStarted = true;
        }
        break;
      case "content_block_delta": {
        this.replyStarted = true;
        const delta = json.delta;
        if (delta?.type === "text_delta" && typeof delta.text === "string" && delta.text.length > 0) {
          this.text += delta.text;
          onText(delta.text);
        }
        break;
      }
      case "message_delta":
        this.finishReason = finishReasonFromAnthropic(json.delta?.stop_reason) ?? this.finishReason;
        this.usage = usageFromAnthropic(json.usage, this.usage);
        break;
      case "message_stop":
        this.done = true;
        break;
      default:
    }
    return `${event}\n\n`;
  }
}
