import type { FastifyReply, FastifyRequest } from "fastify";
import type { AccessControl } from "../access/access-control.ts";
import { refuseKeyAsModel } from "./redact-secrets.ts";
import { replyHeaderRecord } from "./reply-header-record.ts";
import { onResponseClose } from "./response-close.ts";

/** Output tokens reserved for a call that sets no `max_tokens`, until its real usage settles. */
export const DEFAULT_RESERVED_OUTPUT_TOKENS = 1024;

/** What admission needs of a resolved model (the model layer's `ResolvedModel` has it). */
export type AdmittedModel = Readonly<{ name: string; modelId: string; provider: string }>;

/** The end of a model call as its observation reports it (the model layer's `LlmCallEnd` is one). */
export type ObservedCallEnd = Readonly<{
  outcome: string;
  inputTokens?: number;
  outputTokens?: number;
  cachedInputTokens?: number;
  /** `model/deployment` that served the call, when it was routed. */
  deployment?: string;
}>;

/** A model call's observation handle (the model layer's `LlmCallHandle`), whose `end` settles the call. */
export type ObservedCall<End extends ObservedCallEnd> = {
  chunk(): void;
  retry(reason: string): void;
  end(result: End): void;
  upstreamHeaders(): Record<string, string>;
};

/** A model call that was let through: `observe` ties its settlement to the call's observation. */
export type AdmittedModelCall = {
  /** The same handle, whose `end` also settles the call (tokens, slot, cost, ledger row). */
  observe<End extends ObservedCallEnd, Handle extends ObservedCall<End>>(handle: Handle): Handle;
};

export type ModelCallRequest = Readonly<{
  request: FastifyRequest;
  reply: FastifyReply;
  model: AdmittedModel;
  /** The texts sent to the model, for the token estimate reserved until the real usage is known. */
  texts: readonly string[];
  /** Output tokens asked for; undefined for the default reservation, 0 for calls that produce none. */
  maxTokens: number | undefined;
}>;

/**
 * Who may make this model call, and how much: a pipeline asks once per call, after its own
 * checks, and the answer is settled when the call's observation ends (or, for a call that never
 * reached the model, when the response closes).
 */
export type ModelCallAdmission = {
  admit(call: ModelCallRequest): Promise<AdmittedModelCall>;
};

/** Keys, limits, budgets and the usage ledger (`AccessControl`) in front of every model call. */
export function createModelCallAdmission(access: AccessControl): ModelCallAdmission {
  return {
    async admit({ request, reply, model, texts, maxTokens }) {
      refuseKeyAsModel(request, model.name);
      const admitted = await access.admit({
        principal: request.principal,
        address: request.ip,
        requestId: request.id,
        modelName: model.name,
        modelId: model.modelId,
        deployment: model.provider,
        reservedTokens: estimateTokens(texts) + (maxTokens ?? DEFAULT_RESERVED_OUTPUT_TOKENS),
      });
      admitted.writeHeaders(replyHeaderRecord(reply));
      const startedAt = performance.now();
      let observed = false;
      // A call refused after admission (a full stream slot, a field its source cannot take) frees what it took.
      onResponseClose(reply.raw, () => {
        if (!observed) admitted.end();
      });
      return {
        observe<End extends ObservedCallEnd, Handle extends ObservedCall<End>>(handle: Handle): Handle {
          observed = true;
          const settling: ObservedCall<End> = {
            chunk: () => handle.chunk(),
            retry: (reason) => handle.retry(reason),
            upstreamHeaders: () => handle.upstreamHeaders(),
            end(result) {
              handle.end(result);
              admitted.end({
                outcome: result.outcome,
                inputTokens: result.inputTokens ?? 0,
                outputTokens: result.outputTokens ?? 0,
                cachedInputTokens: result.cachedInputTokens ?? 0,
                durationMs: performance.now() - startedAt,
                ...(result.deployment === undefined ? {} : { deployment: result.deployment }),
              });
            },
          };
          return settling as Handle;
        },
      };
    },
  };
}

/** About four characters a token for English text: the reservation until the real count arrives. */
function estimateTokens(texts: readonly string[]): number {
  let characters = 0;
  for (const text of texts) characters += text.length;
  return Math.ceil(characters / 4);
}
