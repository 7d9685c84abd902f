import type { CompletionParameters } from "./completion-request.ts";
import type { LlmCallMessage } from "./llm-call-observer.ts";

/** A chat request as every endpoint hands it to the model layer. */
export type ChatInput = Readonly<{
  /** As the client named it; undefined for the default model. */
  model: string | undefined;
  messages: readonly LlmCallMessage[];
  parameters: CompletionParameters;
}>;
