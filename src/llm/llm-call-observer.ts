/**
 * How the chat layer reports each model call to observability (metrics, traces, LangSmith, the
 * per-call log line) without depending on any of them. The chat routes call `start` once per
 * model call and then the returned handle; observers never throw into the request path.
 */

/** Which endpoint made the call; also the LangSmith run name. */
export type LlmCallKind =
  | "chat"
  | "chat_stream_sse"
  | "chat_stream_text"
  | "openai_chat_completions"
  | "anthropic_messages"
  | "openai_embeddings";

/** The GenAI operation (`gen_ai.operation.name`) a call of `kind` performs. */
export function operationName(kind: LlmCallKind): "chat" | "embeddings" {
  return kind === "openai_embeddings" ? "embeddings" : "chat";
}

/** A message as observers record it: tool results are `tool` messages; parts other than text are left out. */
export type LlmCallMessage = { role: "system" | "user" | "assistant" | "tool"; content: string };

export type LlmCallStart = {
  requestId: string;
  kind: LlmCallKind;
  /** The route template and method of the HTTP request that made the call. */
  path: string;
  method: string;
  /** `openai`, `anthropic`, `ollama` or `echo`. */
  provider: string;
  /** The model as requested of the provider, without the provider prefix. */
  model: string;
  streaming: boolean;
  /** Empty for an embeddings call, whose texts are in `input`. */
  messages: readonly LlmCallMessage[];
  /** The texts an embeddings call embeds (token-id inputs are not texts, so not listed). */
  input?: readonly string[];
  parameters: Readonly<{
    temperature?: number;
    maxTokens?: number;
    topP?: number;
    topK?: number;
    stop?: readonly string[];
    seed?: number;
    presencePenalty?: number;
    frequencyPenalty?: number;
    /** The tools offered to the model: only their count is observed. */
    tools?: readonly unknown[];
  }>;
};

export type LlmCallOutcome = "success" | "error" | "client_disconnected";

export type LlmCallEnd = {
  outcome: LlmCallOutcome;
  /** A stable error code (`UPSTREAM_TIMEOUT`, `UPSTREAM_RATE_LIMITED`, ...) when outcome is error. */
  errorType?: string;
  /** The model the provider says answered, when it says. */
  responseModel?: string;
  finishReason?: string;
  inputTokens?: number;
  outputTokens?: number;
  /** Tokens of the input read from the provider's prompt cache, when it says. */
  cachedInputTokens?: number;
  /** How many tool calls the reply asked for. */
  toolCalls?: number;
  /** The text produced (for LangSmith); may be partial when the call failed. */
  output: string;
  /** The deployment of the last attempt, as `model/deployment` (see routing). */
  deployment?: string;
  /** Attempts over every deployment and fallback tried. */
  attempts?: number;
};

export type LlmCallHandle = {
  /** A text chunk reached the client (streams) or the whole reply arrived (non-stream). */
  chunk(): void;
  /** The call is retried after `reason` (`rate_limited`, `server_error`, `connection_error`, ...). */
  retry(reason: string): void;
  end(result: LlmCallEnd): void;
  /** Headers to add to the upstream request (W3C `traceparent`), for the call's trace context. */
  upstreamHeaders(): Record<string, string>;
};

export type LlmCallObserver = {
  start(call: LlmCallStart): LlmCallHandle;
};

/** A handle that records nothing, for upstream calls that are not model calls (a token count). */
export const noopLlmCallHandle: LlmCallHandle = {
  chunk() {},
  retry() {},
  end() {},
  upstreamHeaders: () => ({}),
};

/** Used when nothing observes model calls (and in tests that do not look). */
export const noopLlmCallObserver: LlmCallObserver = { start: () => noopLlmCallHandle };
