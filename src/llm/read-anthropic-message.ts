import { finishReasonFromAnthropic } from "./finish-reason.ts";
import type { RelayedResult } from "./read-chat-completion.ts";
import { usageFromAnthropic } from "./token-usage.ts";

type MessageJson = {
  model?: unknown;
  content?: { type?: unknown; text?: unknown }[];
  stop_reason?: unknown;
  usage?: unknown;
};

/** A non-streaming Messages answer, parsed once for the observer. */
export function readAnthropicMessage(body: string): RelayedResult {
  const message = JSON.parse(body) as MessageJson;
  const content = Array.isArray(message.content) ? message.content : [];
  let text = "";
  let toolCallCount = 0;
  for (const block of content) {
    if (block?.type === "text" && typeof block.text === "string") text += block.text;
    else if (block?.type === "tool_use") toolCallCount += 1;
  }
  return {
    text,
    toolCallCount,
    finishReason: finishReasonFromAnthropic(message.stop_reason),
    usage: usageFromAnthropic(message.usage),
    responseModel: typeof message.model === "string" ? message.model : undefined,
  };
}
