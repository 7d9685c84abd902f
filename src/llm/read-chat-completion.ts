import { ServiceError } from "../errors/service-error.ts";
import { type FinishReason, finishReasonFromOpenAI } from "./finish-reason.ts";
import { type TokenUsage, usageFromOpenAI } from "./token-usage.ts";

/** What the relay needs from an upstream's answer; everything else passes through unread. */
export type RelayedResult = {
  /** The reply's text, for the observer (LangSmith). */
  text: string;
  /** Undefined when the upstream never said (a stream cut short is an error before this is read). */
  finishReason: FinishReason | undefined;
  /** Undefined when the upstream did not report usage. */
  usage: TokenUsage | undefined;
  responseModel: string | undefined;
  /** The tool calls of the first choice, counted for the observer. */
  toolCallCount: number;
};

type ChatCompletionJson = {
  model?: unknown;
  choices?: { message?: { content?: unknown; tool_calls?: unknown }; finish_reason?: unknown }[];
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
  const toolCalls = choice.message?.tool_calls;
  return {
    toolCallCount: Array.isArray(toolCalls) ? toolCalls.length : 0,
    text: typeof content === "string" ? content : "",
    finishReason: finishReasonFromOpenAI(choice.finish_reason),
    usage: usageFromOpenAI(completion.usage),
    responseModel: typeof completion.model === "string" ? completion.model : undefined,
  };
}
