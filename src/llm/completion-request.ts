import type {
  JSONSchema7,
  LanguageModelV4CallOptions,
  LanguageModelV4FunctionTool,
  LanguageModelV4ToolChoice,
} from "@ai-sdk/provider";
import type { ChatMessage } from "./chat-input.ts";
import type { FinishReason } from "./finish-reason.ts";
import { providerOptionsFor } from "./language-model-capabilities.ts";
import type { LlmCallHandle } from "./llm-call-observer.ts";
import type { ResolvedModel } from "./model-registry.ts";
import type { TokenUsage } from "./token-usage.ts";
import type { ToolCall } from "./tool-call.ts";

/** The AI SDK's reasoning levels, as OpenAI's `reasoning_effort` and Anthropic's thinking map to them. */
export type ReasoningEffort = NonNullable<LanguageModelV4CallOptions["reasoning"]>;

/** What the model is asked to answer in: text, or JSON (matching `schema` when given). */
export type ResponseFormat =
  | { type: "text" }
  | { type: "json"; schema?: JSONSchema7; name?: string; description?: string };

/** Everything of a chat call besides its messages, in the AI SDK's terms. */
export type CompletionParameters = Readonly<{
  temperature?: number;
  maxTokens?: number;
  topP?: number;
  topK?: number;
  stop?: readonly string[];
  seed?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  reasoning?: ReasoningEffort;
  responseFormat?: ResponseFormat;
  tools?: readonly LanguageModelV4FunctionTool[];
  toolChoice?: LanguageModelV4ToolChoice;
  /** False when the client asked for at most one tool call per reply. */
  parallelToolCalls?: boolean;
  /** The end user the request is made for (OpenAI's `user`, Anthropic's `metadata.user_id`). */
  endUser?: string;
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
  messages: readonly ChatMessage[];
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

export type GeneratedCompletion = CompletionResult & {
  text: string;
  toolCalls: readonly ToolCall[];
  /** The model's reasoning, when the provider returns it. */
  reasoning: string;
};

export function toCallOptions(
  request: CompletionRequest,
  abortSignal: AbortSignal,
): LanguageModelV4CallOptions {
  const { parameters } = request;
  return {
    prompt: request.messages.map(
      (message) =>
        message.modelMessage ??
        (message.role === "system"
          ? { role: "system", content: message.content }
          : message.role === "tool"
            ? // Tool results always come with their model message; a bare one is a caller's mistake.
              unexpectedBareToolMessage()
            : { role: message.role, content: [{ type: "text", text: message.content }] }),
    ),
    maxOutputTokens: parameters.maxTokens,
    temperature: parameters.temperature,
    topP: parameters.topP,
    topK: parameters.topK,
    stopSequences: parameters.stop === undefined ? undefined : [...parameters.stop],
    seed: parameters.seed,
    presencePenalty: parameters.presencePenalty,
    frequencyPenalty: parameters.frequencyPenalty,
    reasoning: parameters.reasoning,
    responseFormat: parameters.responseFormat,
    tools: parameters.tools === undefined ? undefined : [...parameters.tools],
    toolChoice: parameters.toolChoice,
    providerOptions: providerOptionsFor(request.model.provider, parameters),
    abortSignal,
    // Every upstream HTTP request carries the call's trace context (W3C traceparent).
    headers: request.handle.upstreamHeaders(),
  };
}

function unexpectedBareToolMessage(): never {
  throw new Error("A tool message reached the model layer without its tool-result parts.");
}
