import type { LanguageModelV4Message } from "@ai-sdk/provider";
import type { CompletionParameters } from "./completion-request.ts";
import type { LlmCallMessage } from "./llm-call-observer.ts";

/**
 * A message as the chat layer sees it: its text (what limits count and observers record) and, when
 * it holds more than text (images, files, tool calls, tool results), the message as the model
 * receives it.
 */
export type ChatMessage = LlmCallMessage & {
  /** The message in the AI SDK's prompt form; without it the model gets `content` as text. */
  modelMessage?: LanguageModelV4Message;
};

/** A chat request as every endpoint hands it to the model layer. */
export type ChatInput = Readonly<{
  /** As the client named it; undefined for the default model. */
  model: string | undefined;
  messages: readonly ChatMessage[];
  parameters: CompletionParameters;
}>;
