import type { FastifyReply, FastifyRequest } from "fastify";
import type { Config } from "../config.ts";
import { ServiceError } from "../errors/service-error.ts";
import { watchClientDisconnect } from "../http/client-disconnect.ts";
import type { ModelCallAdmission } from "../http/model-call-admission.ts";
import { routeLabel } from "../http/route-label.ts";
import { toServiceError } from "../http/to-service-error.ts";
import type { UpstreamLimits } from "../llm/completion-request.ts";
import { DEFAULT_EMBEDDING_MODEL_IDS, type EmbeddingModels } from "../llm/create-embedding-models.ts";
import type { LlmCallObserver } from "../llm/llm-call-observer.ts";
import type { ModelRegistry, ResolvedModel } from "../llm/model-registry.ts";
import { checkEmbeddingsInput } from "./check-embeddings-input.ts";
import type { EmbeddingsBody } from "./embeddings-body.ts";
import type { EmbeddingsAnswer, EmbeddingsRequest, EmbeddingsSource } from "./embeddings-source.ts";
import { embeddingModelSource } from "./sources/embedding-model-source.ts";
import { embeddingsRelaySource } from "./sources/embeddings-relay-source.ts";

export type EmbeddingsDependencies = Readonly<{
  config: Pick<
    Config,
    "embeddingsMaxInputs" | "maxMessageChars" | "llmTimeoutMs" | "llmIdleTimeoutMs" | "llmMaxRetries"
  >;
  modelRegistry: ModelRegistry;
  /** The AI SDK embedding models, for providers that are not relayed to. */
  embeddingModels: EmbeddingModels;
  llmCallObserver: LlmCallObserver;
  /** Keys' models, rate limits and budgets before each call, settled with its usage; none when absent. */
  admission?: ModelCallAdmission;
}>;

/** One embeddings call as the route asks for it. */
export type EmbeddingsCall = Readonly<{ request: FastifyRequest; reply: FastifyReply; body: EmbeddingsBody }>;

export type EmbeddingsPipeline = {
  /** Sends the answer, or resolves without one once the client has gone; throws what to refuse. */
  respond(call: EmbeddingsCall): Promise<void>;
};

/**
 * Owns one embeddings call, as the chat pipeline owns a chat call: limits, model, source, the
 * client-disconnect abort, retries and time limits (in the source), and the observation, ended
 * exactly once. Every refusal happens before the observation starts and before any upstream call.
 */
export function createEmbeddingsPipeline(dependencies: EmbeddingsDependencies): EmbeddingsPipeline {
  const { config, modelRegistry, llmCallObserver } = dependencies;
  const limits: UpstreamLimits = {
    timeoutMs: config.llmTimeoutMs,
    idleTimeoutMs: config.llmIdleTimeoutMs,
    maxRetries: config.llmMaxRetries,
  };
  // The first source that serves the model: a relay passes every field on, so it comes first.
  const sources: readonly EmbeddingsSource[] = [
    embeddingsRelaySource,
    embeddingModelSource(dependencies.embeddingModels),
  ];

  return {
    async respond({ request, reply, body }) {
      const input = checkEmbeddingsInput(body, config);
      const model = resolveEmbeddingModel(modelRegistry, body.model ?? undefined);
      const source = sources.find((candidate) => candidate.serves(model));
      if (source === undefined) {
        throw new ServiceError({
          code: "VALIDATION_FAILED",
          message: `${model.name} has no embeddings: the ${model.provider} provider offers none`,
          param: "model",
        });
      }
      const embeddingsRequest: EmbeddingsRequest = {
        model,
        body,
        input,
        answerModel: body.model || model.name,
      };
      source.check(embeddingsRequest);
      // Embeddings produce no output tokens: only the input is reserved.
      const texts = input.kind === "texts" ? input.texts : [];
      const admitted = await dependencies.admission?.admit({ request, reply, model, texts, maxTokens: 0 });

      const signal = watchClientDisconnect(reply.raw);
      const observed = llmCallObserver.start({
        requestId: request.id,
        kind: "openai_embeddings",
        path: routeLabel(request),
        method: request.method,
        provider: model.provider,
        model: model.modelId,
        streaming: false,
        messages: [],
        input: input.kind === "texts" ? input.texts : undefined,
        parameters: {},
      });
      const handle = admitted === undefined ? observed : admitted.observe(observed);
      let answer: EmbeddingsAnswer;
      try {
        answer = await source.embed({ ...embeddingsRequest, signal, handle, limits });
      } catch (error) {
        if (signal.aborted) {
          handle.end({ outcome: "client_disconnected", output: "" });
          // There is no one left to answer.
          reply.hijack();
          return;
        }
        const serviceError = toServiceError(error);
        handle.end({ outcome: "error", errorType: serviceError.code, output: "" });
        throw serviceError;
      }
      handle.chunk();
      handle.end({
        outcome: "success",
        responseModel: answer.responseModel,
        inputTokens: answer.inputTokens,
        output: "",
      });
      // A string goes out as it is: a relayed answer byte for byte, ours without a second serialiser.
      reply.type("application/json; charset=utf-8").send(answer.body);
    },
  };
}

/**
 * The body's `model` by the chat name rules (`provider:model`, or a bare name of the default
 * provider); without one, the default provider's usual embedding model.
 */
function resolveEmbeddingModel(registry: ModelRegistry, name: string | undefined): ResolvedModel {
  if (name !== undefined && name !== "") return registry.resolve(name);
  const { provider } = registry.defaultModel;
  const modelId = DEFAULT_EMBEDDING_MODEL_IDS[provider];
  if (modelId === undefined) {
    throw new ServiceError({
      code: "VALIDATION_FAILED",
      message: `the default provider, ${provider}, has no embeddings: name a model, such as echo or openai:text-embedding-3-small`,
      param: "model",
    });
  }
  return registry.resolve(provider === "echo" ? "echo" : `${provider}:${modelId}`);
}
