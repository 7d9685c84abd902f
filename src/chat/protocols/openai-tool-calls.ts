import type { ToolCall, ToolCallDelta } from "../../llm/tool-call.ts";

/** A whole reply's tool calls as a Chat Completions message carries them. */
export function openAIToolCalls(toolCalls: readonly ToolCall[]) {
  return toolCalls.map((call) => ({
    id: call.id,
    type: "function" as const,
    function: { name: call.name, arguments: call.arguments },
  }));
}

/** A streamed piece of a tool call as a `chat.completion.chunk` delta carries it. */
export function openAIToolCallDelta(delta: ToolCallDelta) {
  return {
    index: delta.index,
    ...(delta.id === undefined ? {} : { id: delta.id, type: "function" as const }),
    function: {
      ...(delta.name === undefined ? {} : { name: delta.name }),
      arguments: delta.argumentsDelta,
    },
  };
}
