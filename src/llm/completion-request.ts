import type {
  LanguageModelV4CallOptions,
  LanguageModelV4FinishReason,
  LanguageModelV4Usage,
} from "@ai-sdk/provider";
import { ServiceError } from "../errors/service-error.ts";
import type { LlmCallHandle, LlmCallMessage } from "./llm-call-observer.ts";
import type { ResolvedModel } from "./model-registry.ts";
import type { UpstreamTimeoutError } from "./upstream-deadline.ts";

export type CompletionParameters = Readonly<{
  temperature?: number;
  maxTokens?: number;
  topP?: number;
  stop?: readonly string[];
}>;

export type UpstreamLimits = Readonly<{
  timeoutMs: number;
  idleTimeoutMs: number;
  maxRetries: number;
  /** The first retry backoff when the upstream does not say how long to wait. */
  retryBaseDelayMs?: number;
}>;

/** One model call as the routes ask for it. */
export type CompletionRequest = Readonly<{
  model: ResolvedModel;
  messages: readonly LlmCallMessage[];
  parameters: CompletionParameters;
  /** Aborts when the client goes away. */
  signal: AbortSignal;
  /** The observer's handle for this call: retries and upstream headers are reported to it. */
  handle: LlmCallHandle;
  limits: UpstreamLimits;
}>;

/** `stop`, `length`, `content_filter`, `tool_calls` or `other`: OpenAI's words, which clients know. */
export type FinishReason = "stop" | "length" | "content_filter" | "tool_calls" | "other";

export type TokenUsage = { inputTokens: number; outputTokens: number; totalTokens: number };

export type CompletionResult = {
  finishReason: FinishReason;
  usage: TokenUsage;
  /** The model the provider says answered, when it says. */
  responseModel: string | undefined;
};

export function toCallOptions(
  request: CompletionRequest,
  abortSignal: AbortSignal,
): LanguageModelV4CallOptions {
  const { parameters } = request;
  return {
    prompt: request.messages.map((message) =>
      message.role === "system"
        ? { role: "system", content: message.content }
        : { role: message.role, content: [{ type: "text", text: message.content }] },
    ),
    maxOutputTokens: parameters.maxTokens,
    temperature: parameters.temperature,
    topP: parameters.topP,
    stopSequences: parameters.stop === undefined ? undefined : [...parameters.stop],
    abortSignal,
    // Every upstream HTTP request carries the call's trace context (W3C traceparent).
    headers: request.handle.upstreamHeaders(),
  };
}

export function toFinishReason(reason: LanguageModelV4FinishReason): FinishReason {
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
      throw new ServiceError({
        code: "UPSTREAM_ERROR",
        message: "The model provider's stream ended before the reply was complete.",
      });
    default:
      return "other";
  }
}

export function toTokenUsage(usage: LanguageModelV4Usage): TokenUsage {
  const inputTokens = usage.inputTokens.total ?? 0;
  const outputTokens = usage.outputTokens.total ?? 0;
  return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens };
}

export function timeoutError(timeout: UpstreamTimeoutError): ServiceError {
  return new ServiceError({ code: "UPSTREAM_TIMEOUT", message: timeout.message, cause: timeout });
}
