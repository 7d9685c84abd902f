import { anthropicErrorBody } from "../../http/error-body.ts";
import type { ReplyContext, StreamProtocol } from "../reply-protocol.ts";
import { anthropicStopReason } from "./anthropic-stop-reason.ts";
import { anthropicUsage } from "./anthropic-usage.ts";

export type AnthropicEventOptions = {
  /** The model as the client named it, which `message_start` repeats; the resolved name otherwise. */
  requestedModel: string | undefined;
};

type BlockKind = "text" | "thinking" | "tool_use";

/** While idle: Anthropic's own `ping` event, which its SDKs expect and skip. */
const PING = event("ping", { type: "ping" });

/**
 * `POST /v1/messages` with `stream: true`: Anthropic's event sequence. `message_start`, then per
 * content block `content_block_start`, its deltas (`text_delta`, `thinking_delta`,
 * `input_json_delta`) and `content_block_stop`, then `message_delta` with the stop reason and
 * usage, and `message_stop`; `ping` while idle, `error` after a failure once started. A block ends
 * when the next one starts (Anthropic never interleaves blocks) or when the reply does. The native
 * relay's own events pass through as they are.
 *
 * Nothing is sent before the model's first piece, so a failure before it (after our retries) is
 * still an HTTP error that Anthropic clients raise as their `APIError`.
 */
export function anthropicEventProtocol(
  context: ReplyContext,
  options: AnthropicEventOptions,
): StreamProtocol {
  let open: BlockKind | undefined;
  /** The index of the last block started; -1 before the first. */
  let index = -1;
  /** Our block index for each tool call of the reply, by its `ToolCallDelta` index. */
  const toolBlocks = new Map<number, number>();

  const start = (kind: BlockKind, block: object): string => {
    const stop = close();
    open = kind;
    index += 1;
    return `${stop}${event("content_block_start", { type: "content_block_start", index, content_block: block })}`;
  };
  const close = (): string => {
    if (open === undefined) return "";
    open = undefined;
    return event("content_block_stop", { type: "content_block_stop", index });
  };
  const delta = (at: number, body: object) =>
    event("content_block_delta", { type: "content_block_delta", index: at, delta: body });

  return {
    transport: "sse",
    opensEarly: false,
    wireFormat: "anthropic-messages",
    ping: PING,
    start: () =>
      event("message_start", {
        type: "message_start",
        message: {
          id: `msg_${context.requestId}`,
          type: "message",
          role: "assistant",
          model: options.requestedModel ?? context.model.name,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          // The AI SDK reports usage only at the end: `message_delta` carries all of it.
          usage: anthropicUsage(undefined),
        },
      }),
    text(text) {
      const opening = open === "text" ? "" : start("text", { type: "text", text: "" });
      return opening + delta(index, { type: "text_delta", text });
    },
    reasoning(thinking) {
      const opening =
        open === "thinking" ? "" : start("thinking", { type: "thinking", thinking: "", signature: "" });
      return opening + delta(index, { type: "thinking_delta", thinking });
    },
    toolCall(call) {
      let opening = "";
      if (call.id !== undefined) {
        opening = start("tool_use", { type: "tool_use", id: call.id, name: call.name ?? "", input: {} });
        toolBlocks.set(call.index, index);
      }
      if (call.argumentsDelta.length === 0) return opening;
      const at = toolBlocks.get(call.index) ?? index;
      return opening + delta(at, { type: "input_json_delta", partial_json: call.argumentsDelta });
    },
    finish(outcome, { passthrough }) {
      // The relay's own `message_delta` and `message_stop` have passed already.
      if (passthrough) return "";
      return (
        close() +
        event("message_delta", {
          type: "message_delta",
          delta: { stop_reason: anthropicStopReason(outcome.finishReason), stop_sequence: null },
          usage: anthropicUsage(outcome.usage),
        }) +
        event("message_stop", { type: "message_stop" })
      );
    },
    error: (error) => event("error", anthropicErrorBody(error, context.requestId)),
  };
}

function event(name: string, data: object): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}
