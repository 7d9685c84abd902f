import { ServiceError } from "../../errors/service-error.ts";
import type { ToolCall } from "../../llm/tool-call.ts";
import type { JsonProtocol, ReplyContext } from "../reply-protocol.ts";
import { anthropicStopReason } from "./anthropic-stop-reason.ts";
import { anthropicUsage } from "./anthropic-usage.ts";

export type AnthropicJsonOptions = {
  /** The model as the client named it, which the answer repeats; the resolved name otherwise. */
  requestedModel: string | undefined;
};

/**
 * `POST /v1/messages` without `stream`: Anthropic's `message` object, its content the reply's
 * thinking, text and `tool_use` blocks in that order. The native relay's own answer passes
 * through byte for byte.
 */
export function anthropicJsonProtocol(context: ReplyContext, options: AnthropicJsonOptions) {
  const protocol = {
    wireFormat: "anthropic-messages",
    body: (reply) =>
      reply.body ?? {
        id: `msg_${context.requestId}`,
        type: "message" as const,
        role: "assistant" as const,
        model: options.requestedModel ?? context.model.name,
        content: [
          // Only Anthropic signs its thinking; a translated provider's has no signature to give.
          ...(reply.reasoning.length === 0
            ? []
            : [{ type: "thinking" as const, thinking: reply.reasoning, signature: "" }]),
          ...(reply.text.length === 0 && reply.toolCalls.length > 0
            ? []
            : [{ type: "text" as const, text: reply.text }]),
          ...reply.toolCalls.map(toolUseBlock),
        ],
        stop_reason: anthropicStopReason(reply.finishReason),
        stop_sequence: null,
        usage: anthropicUsage(reply.usage),
      },
  } satisfies JsonProtocol<object>;
  return protocol;
}

function toolUseBlock(call: ToolCall) {
  return { type: "tool_use" as const, id: call.id, name: call.name, input: toolInput(call) };
}

/** A tool call's arguments as the object Anthropic's `input` is; a model that wrote no JSON failed. */
export function toolInput(call: ToolCall): unknown {
  if (call.arguments.trim().length === 0) return {};
  try {
    return JSON.parse(call.arguments);
  } catch (error) {
    throw new ServiceError({
      code: "UPSTREAM_ERROR",
      message: `The model called \`${call.name}\` with arguments that are not JSON.`,
      cause: error,
    });
  }
}
