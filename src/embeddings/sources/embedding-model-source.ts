import { ServiceError } from "../../errors/service-error.ts";
import type { EmbeddingModels } from "../../llm/create-embedding-models.ts";
import { embedTexts } from "../../llm/embed-texts.ts";
import type { ResolvedModel } from "../../llm/model-registry.ts";
import type { EmbeddingsSource } from "../embeddings-source.ts";
import { openAIEmbeddingsBody } from "../openai-embeddings-body.ts";

/** The fields the AI SDK's embedding call carries; any other is refused by name, never dropped. */
const CARRIED_FIELDS = new Set(["model", "input", "encoding_format", "dimensions", "user"]);

/**
 * Any provider with an AI SDK embedding model (echo's built-in one, or `@ai-sdk/openai`'s when no
 * upstream is relayed to), called through `embedMany`; the answer is built in OpenAI's shape.
 */
export function embeddingModelSource(embeddingModels: EmbeddingModels): EmbeddingsSource {
  const factoryFor = (model: ResolvedModel) => embeddingModels[model.provider];
  return {
    serves: (model) => factoryFor(model) !== undefined,
    check({ model, body, input }) {
      for (const field of Object.keys(body)) {
        if (!CARRIED_FIELDS.has(field)) {
          throw new ServiceError({
            code: "VALIDATION_FAILED",
            message: `${field} is not supported by ${model.name}'s embeddings`,
            param: field,
          });
        }
      }
      if (input.kind === "tokens") {
        throw new ServiceError({
          code: "VALIDATION_FAILED",
          message: `${model.name} embeds text only: token-id inputs need an OpenAI-compatible upstream`,
          param: "input",
        });
      }
    },
    async embed(call) {
      const factory = factoryFor(call.model);
      if (factory === undefined || call.input.kind !== "texts") {
        // `serves` and `check` keep these away; this names the mistake if a caller skips them.
        throw new Error(`${call.model.name} cannot embed this input through the AI SDK.`);
      }
      const { body } = call;
      const result = await embedTexts({
        model: factory(call.model.modelId),
        texts: call.input.texts,
        dimensions: body.dimensions ?? undefined,
        user: body.user ?? undefined,
        signal: call.signal,
        handle: call.handle,
        limits: call.limits,
      });
      return {
        body: openAIEmbeddingsBody({
          embeddings: result.embeddings,
          encodingFormat: body.encoding_format ?? "float",
          model: call.answerModel,
          inputTokens: result.inputTokens,
        }),
        responseModel: undefined,
        inputTokens: result.inputTokens,
      };
    },
  };
}
