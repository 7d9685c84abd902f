import { ServiceError } from "../errors/service-error.ts";
import type { FinishReason, TokenUsage } from "./completion-request.ts";

/** What the relay needs from an upstream's answer; everything else passes through unread. */
export type RelayedResult = {
  /** The reply's text, for the observer (LangSmith). */
  text: string;
  /** Undefined when the upstream never said (a stream cut short is an error before this is read). */
  finishReason: FinishReason | undefined;
  /** Undefined when the upstream did not report usage. */
  usage: TokenUsage | undefined;
  responseModel: string | undefined;
};

type ChatCompletionJson = {
  model?: unknown;
  choices?: { message?: { content?: unknown }; finish_reason?: unknown }[];
  usage?: unknown;
};

/** A non-streaming Chat Completions answer, parsed once for the observer. */
export function readChatCompletion(body: string): RelayedResult {
  const completion = JSON.parse(body) as ChatCompletionJson;
  const choice = Array.isArray(completion.choices) ? completion.choices[0] : undefined;
  if (choice === undefined || choice === null) {
    throw new ServiceError({
      code: "UPSTREAM_ERROR",
      message: "The model provider's answer holds no choice.",
    });
  }
  const content = choice.message?.content;
  return {
    text: typeof content === "string" ? content : "",
    finishReason: readFinishReason(choice.finish_reason),
    usage: readUsage(completion.usage),
    responseModel: typeof completion.model === "string" ? completion.model : undefined,
  };
}

/** OpenAI's `finish_reason`, mapped as the AI SDK's OpenAI provider maps it. */
export function readFinishReason(value: unknown): FinishReason | undefined {
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

export function readUsage(value: unknown): TokenUsage | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const usage = value as { prompt_tokens?: unknown; completion_tokens?: unknown };
  const inputTokens = typeof usage.prompt_tokens === "number" ? usage.prompt_tokens : 0;
  const outputTokens = typeof usage.completion_tokens === "number" ? usage.completion_tokens : 0;
  return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens };
}
