import type { UpstreamLimits } from "../llm/completion-request.ts";
import type { LlmCallHandle } from "../llm/llm-call-observer.ts";
import type { ResolvedModel } from "../llm/model-registry.ts";
import type { EmbeddingsBody, EmbeddingsInput } from "./embeddings-body.ts";

/** What a source is asked to embed: the body as sent, and its input as one list. */
export type EmbeddingsRequest = Readonly<{
  model: ResolvedModel;
  body: EmbeddingsBody;
  input: EmbeddingsInput;
  /** The model as the answer names it: the client's name for it, or the resolved one. */
  answerModel: string;
}>;

/** One call as the pipeline hands it to a source. */
export type EmbeddingsCall = EmbeddingsRequest &
  Readonly<{
    /** Aborts when the client goes away. */
    signal: AbortSignal;
    handle: LlmCallHandle;
    limits: UpstreamLimits;
  }>;

export type EmbeddingsAnswer = Readonly<{
  /** OpenAI's embeddings JSON, sent to the client as it is. */
  body: string;
  responseModel: string | undefined;
  inputTokens: number | undefined;
}>;

/**
 * What produces an embeddings answer: an OpenAI-compatible upstream relayed, or an AI SDK embedding
 * model. Each retries before answering, under the call's time limits.
 */
export type EmbeddingsSource = Readonly<{
  serves(model: ResolvedModel): boolean;
  /** Refuses, before any upstream call, what this source cannot carry; the error names the field. */
  check(request: EmbeddingsRequest): void;
  embed(call: EmbeddingsCall): Promise<EmbeddingsAnswer>;
}>;
