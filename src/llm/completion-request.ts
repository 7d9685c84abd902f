import type { LanguageModelV4CallOptions } from "@ai-sdk/provider";
import type { FinishReason } from "./finish-reason.ts";
import type { LlmCallHandle, LlmCallMessage } from "./llm-call-observer.ts";
import type { ResolvedModel } from "./model-registry.ts";
import type { TokenUsage } from "./token-usage.ts";

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
