import type { ChatInput } from "../llm/chat-input.ts";
import type { UpstreamLimits } from "../llm/completion-request.ts";
import type { FinishReason } from "../llm/finish-reason.ts";
import type { LlmCallHandle } from "../llm/llm-call-observer.ts";
import type { ResolvedModel } from "../llm/model-registry.ts";
import type { TokenUsage } from "../llm/token-usage.ts";
import type { ToolCall, ToolCallDelta } from "../llm/tool-call.ts";

/** A client wire format that a source can produce itself, so its answer passes through unrebuilt. */
export type WireFormat = "openai-chat-completions" | "anthropic-messages";

/** A field of the client's request that the language-model translation leaves out. */
export type UntranslatedField = Readonly<{ param: string; reason: string }>;

/** One model call as the pipeline hands it to a source. */
export type SourceCall = Readonly<{
  model: ResolvedModel;
  input: ChatInput;
  /** Aborts when the client goes away. */
  signal: AbortSignal;
  /** The observer's handle: retries and upstream trace headers are reported to it. */
  handle: LlmCallHandle;
  limits: UpstreamLimits;
  /** The client asked for OpenAI's usage frame (`stream_options.include_usage`). */
  includeUsage: boolean;
  /** The client's body in the protocol's wire format, for a source that passes it on. */
  wireBody: Readonly<Record<string, unknown>> | undefined;
  /** What the client said of the wire format's API version (`anthropic-version`, `anthropic-beta`). */
  wireHeaders?: WireHeaders;
}>;

/** The client's headers about its wire format's API, which a source passing the body on sends too. */
export type WireHeaders = Readonly<{ version?: string; beta?: string }>;

/** Where a streaming source puts the reply as it arrives. */
export type ReplySink = {
  /**
   * A text delta of the reply. A promise while the client's socket is full: read nothing more
   * from the upstream until it settles, so memory stays bounded.
   */
  text(delta: string): Promise<void> | undefined;
  /** A piece of a tool call the model is making; backpressure as for `text`. */
  toolCall(delta: ToolCallDelta): Promise<void> | undefined;
  /** A piece of the model's reasoning, for the protocols that carry it; backpressure as for `text`. */
  reasoning(delta: string): Promise<void> | undefined;
  /** The source's own frames, in its `wireFormat`, after the `text` of the deltas they carry. */
  frames(frames: string): Promise<void> | undefined;
};

/** How a reply ended; a source relaying another format may not know every field. */
export type ReplyOutcome = Readonly<{
  finishReason: FinishReason | undefined;
  usage: TokenUsage | undefined;
  /** The model the provider says answered, when it says. */
  responseModel: string | undefined;
  /** How many tool calls the reply made, when the source counted them itself (a relay). */
  toolCallCount?: number;
}>;

export type GeneratedReply = ReplyOutcome &
  Readonly<{
    text: string;
    /** The tool calls the model asked for, in order; none for a relayed answer (it is in `body`). */
    toolCalls: readonly ToolCall[];
    /** The model's reasoning, when the provider returns it. */
    reasoning: string;
    /** The upstream's own answer in the source's `wireFormat`, to pass on as is. */
    body?: string;
  }>;

/**
 * What produces a reply: a language model through the AI SDK, or an upstream relayed in a client
 * wire format. Each retries before the first byte reaches the client and throws after it.
 */
export type ChatSource = Readonly<{
  /** Set when the source hands over its upstream's own frames and bodies in this format. */
  wireFormat: WireFormat | undefined;
  /** Whether this source can call the model at all. */
  serves(model: ResolvedModel): boolean;
  generate(call: SourceCall): Promise<GeneratedReply>;
  stream(call: SourceCall, sink: ReplySink): Promise<ReplyOutcome>;
}>;
