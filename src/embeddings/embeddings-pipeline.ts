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
import type { DeploymentGroup } from "../routing/deployment-group.ts";
import { deploymentHeaderValue } from "../routing/deployment-header.ts";
import type { ModelRouter } from "../routing/model-router.ts";
import { runRoutedCall } from "../routing/run-routed-call.ts";
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
  /** The catalog's models: one named in the body (or flagged `embeddings`) is routed over its deployments. */
  router: ModelRouter;
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
  const { config, modelRegistry, router, llmCallObserver } = dependencies;
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
      const group =
        catalogEmbeddingsModel(router, body.model ?? undefined) ??
        router.adHoc(resolveEmbeddingModel(modelRegistry, body.model ?? undefined));
      const model = group.clientModel;
      const sourceOf = (candidate: ResolvedModel) => sources.find((source) => source.serves(candidate));
      if (!group.deployments.some((deployment) => sourceOf(deployment.model) !== undefined)) {
        throw new ServiceError({
          code: "VALIDATION_FAILED",
          message: `${model.name} has no embeddings: the ${model.provider} provider offers none`,
          param: "model",
        });
      }
      const embeddingsRequest = (deploymentModel: ResolvedModel): EmbeddingsRequest => ({
        model: deploymentModel,
        body,
        input,
        answerModel: body.model || model.name,
      });
      // Refused by name before any upstream call, as the first deployment's source would.
      const first = group.deployments.find((deployment) => sourceOf(deployment.model) !== undefined);
      if (first !== undefined) sourceOf(first.model)?.check(embeddingsRequest(first.model));
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
        answer = await runRoutedCall(
          router,
          group,
          {
            signal,
            limits,
            handle,
            accepts: (candidate) => sourceOf(candidate) !== undefined,
            onAttempt: (target) => {
              reply.header(
                "x-llm-deployment",
                deploymentHeaderValue(`${target.group.name}/${target.deployment.id}`),
              );
              reply.header("x-llm-attempts", String(target.attempt));
            },
          },
          (target) => {
            const request = embeddingsRequest(target.deployment.model);
            const source = sourceOf(request.model) as EmbeddingsSource;
            source.check(request);
            return source.embed({ ...request, signal, handle, limits: target.limits });
          },
        );
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
 * The catalog model the body names, or, when it names none, the first the catalog flags
 * `embeddings: true`; undefined otherwise (the name rules below apply).
 */
function catalogEmbeddingsModel(router: ModelRouter, name: string | undefined): DeploymentGroup | undefined {
  if (name !== undefined && name !== "") return router.listed(name);
  return router.models().find((group) => group.catalogModel?.embeddings === true);
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
