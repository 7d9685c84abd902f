import type { LanguageModelV4FinishReason } from "@ai-sdk/provider";
import { streamEndedEarly } from "./stream-ended-early.ts";

/** `stop`, `length`, `content_filter`, `tool_calls` or `other`: OpenAI's words, which clients know. */
export type FinishReason = "stop" | "length" | "content_filter" | "tool_calls" | "other";

/** The AI SDK's unified finish reason, in our words. */
export function finishReasonFromLanguageModel(reason: LanguageModelV4FinishReason): FinishReason {
  switch (reason.unified) {
    case "stop":
    case "length":
      return reason.unified;
    case "content-filter":
      return "content_filter";
    case "tool-calls":
      return "tool_calls";
    case "interrupted":
      // A stream that ended without saying it was complete is a truncated answer, not a success.
      throw streamEndedEarly();
    default:
      return "other";
  }
}

/** OpenAI's `finish_reason`, mapped as the AI SDK's OpenAI provider maps it; undefined when not said. */
export function finishReasonFromOpenAI(value: unknown): FinishReason | undefined {
  switch (value) {
    case "stop":
    case "length":
    case "content_filter":
    case "tool_calls":
      return value;
    case "function_call":
      return "tool_calls";
    case null:
    case undefined:
      return undefined;
    default:
      return "other";
  }
}

/** Anthropic's `stop_reason` in our words; undefined when not said (yet). */
export function finishReasonFromAnthropic(value: unknown): FinishReason | undefined {
  switch (value) {
    case "end_turn":
    case "stop_sequence":
    case "pause_turn":
      return "stop";
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length";
    case "tool_use":
      return "tool_calls";
    case "refusal":
      return "content_filter";
    case null:
    case undefined:
      return undefined;
    default:
      return "other";
  }
}
