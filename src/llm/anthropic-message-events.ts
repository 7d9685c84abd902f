import { finishReasonFromAnthropic } from "./finish-reason.ts";
import { RelayFrameReader } from "./relay-frame-reader.ts";
import { usageFromAnthropic } from "./token-usage.ts";
import { UpstreamStreamError } from "./upstream-stream-error.ts";

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
 *
 * The reply has started with the first content delta or `tool_use` block, not with
 * `message_start`; tool calls are the `tool_use` blocks started.
 */
export class AnthropicMessageEvents extends RelayFrameReader {
  /** The upstream sent `message_stop`. */
  done = false;

  /** Only `message_stop` says so: a stop reason arrives before the last events. */
  override get complete(): boolean {
    return this.done;
  }

  protected override readEvent(event: string, onText: (delta: string) => void): string {
    const data = this.eventData(event);
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
