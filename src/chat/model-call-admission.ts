import type { FastifyReply, FastifyRequest } from "fastify";
import type { AccessControl } from "../access/access-control.ts";
import { refuseKeyAsModel } from "../http/redact-secrets.ts";
import type { ChatInput } from "../llm/chat-input.ts";
import type { LlmCallHandle } from "../llm/llm-call-observer.ts";
import type { ResolvedModel } from "../llm/model-registry.ts";

/** Output tokens reserved for a call that sets no `max_tokens`, until its real usage settles. */
export const DEFAULT_RESERVED_OUTPUT_TOKENS = 1024;

/** A model call that was let through: `observe` ties its settlement to the call's observation. */
export type AdmittedModelCall = {
  /** The same handle, whose `end` also settles the call (tokens, slot, cost, ledger row). */
  observe(handle: LlmCallHandle): LlmCallHandle;
};

/**
 * Who may make this model call, and how much: the pipeline asks once per call, after its own
 * checks, and the answer is settled when the call's observation ends (or, for a call that never
 * reached the model, when the response closes).
 */
export type ModelCallAdmission = {
  admit(call: {
    request: FastifyRequest;
    reply: FastifyReply;
    model: ResolvedModel;
    input: ChatInput;
  }): Promise<AdmittedModelCall>;
};

/** Keys, limits, budgets and the usage ledger (`AccessControl`) in front of every model call. */
export function createModelCallAdmission(access: AccessControl): ModelCallAdmission {
  return {
    async admit({ request, reply, model, input }) {
      refuseKeyAsModel(request, model.name);
      const admitted = await access.admit({
        principal: request.principal,
        address: request.ip,
        requestId: request.id,
        modelName: model.name,
        modelId: model.modelId,
        deployment: model.provider,
        reservedTokens:
          estimateTokens(input) + (input.parameters.maxTokens ?? DEFAULT_RESERVED_OUTPUT_TOKENS),
      });
      reply.headers(admitted.headers);
      const startedAt = performance.now();
      let observed = false;
      // A call refused after admission (a full stream slot, a field its source cannot take) frees what it took.
      reply.raw.once("close", () => {
        if (!observed) admitted.end();
      });
      return {
        observe(handle) {
          observed = true;
          return {
            chunk: () => handle.chunk(),
            retry: (reason) => handle.retry(reason),
            upstreamHeaders: () => handle.upstreamHeaders(),
            end(result) {
              handle.end(result);
              admitted.end({
                outcome: result.outcome,
                inputTokens: result.inputTokens ?? 0,
                outputTokens: result.outputTokens ?? 0,
                cachedInputTokens: 0,
                durationMs: performance.now() - startedAt,
              });
            },
          };
        },
      };
    },
  };
}

/** About four characters a token for English text: the reservation until the real count arrives. */
function estimateTokens(input: ChatInput): number {
  let characters = 0;
  for (const message of input.messages) characters += message.content.length;
  return Math.ceil(characters / 4);
}
