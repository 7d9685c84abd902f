import type { FinishReason } from "../../llm/finish-reason.ts";

/**
 * Our finish reason in Anthropic's words. A provider reached through the AI SDK reports a matched
 * stop sequence as a plain `stop` without saying which one matched, so it is `end_turn` here;
 * only the native relay passes Anthropic's own `stop_sequence` on.
 */
export function anthropicStopReason(reason: FinishReason | undefined): string {
  switch (reason) {
    case "length":
      return "max_tokens";
    case "tool_calls":
      return "tool_use";
    case "content_filter":
      return "refusal";
    default:
      return "end_turn";
  }
}
