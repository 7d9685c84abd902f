import { type FastifyPluginAsyncTypebox, Type } from "@fastify/type-provider-typebox";
import type { EmbeddingsPipeline } from "../embeddings/embeddings-pipeline.ts";

const Nullable = <T extends Parameters<typeof Type.Optional>[0]>(schema: T) =>
  Type.Optional(Type.Union([schema, Type.Null()]));

const TokenIds = Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1 });

// Open to other fields: towards an OpenAI-compatible upstream they pass on as sent; through the
// AI SDK one it cannot carry is a 400 naming it.
const EmbeddingsBody = Type.Object(
  {
    model: Nullable(Type.String({ maxLength: 200 })),
    input: Type.Union(
      [
        Type.String(),
        Type.Array(Type.String(), { minItems: 1 }),
        TokenIds,
        Type.Array(TokenIds, { minItems: 1 }),
      ],
      { description: "A text, texts, an array of token ids, or arrays of token ids" },
    ),
    encoding_format: Nullable(Type.Union([Type.Literal("float"), Type.Literal("base64")])),
    dimensions: Nullable(Type.Integer({ minimum: 1 })),
    user: Nullable(Type.String()),
  },
  { additionalProperties: true },
);

const Embeddings = Type.Object({
  object: Type.Literal("list"),
  data: Type.Array(
    Type.Object({
      object: Type.Literal("embedding"),
      index: Type.Integer(),
      embedding: Type.Union([
        Type.Array(Type.Number()),
        Type.String({ description: "little-endian float32, base64-encoded" }),
      ]),
    }),
  ),
  model: Type.String(),
  usage: Type.Object({ prompt_tokens: Type.Integer(), total_tokens: Type.Integer() }),
});

export type EmbeddingsRoutesOptions = { embeddings: EmbeddingsPipeline };

/** `POST /v1/embeddings`: OpenAI's Embeddings API. */
export const embeddingsRoutes: FastifyPluginAsyncTypebox<EmbeddingsRoutesOptions> = async (app, options) => {
  const { embeddings } = options;
  app.post(
    "/v1/embeddings",
    {
      schema: {
        tags: ["openai"],
        summary: "OpenAI Embeddings (relayed to OpenAI-compatible upstreams, or through the AI SDK)",
        body: EmbeddingsBody,
        response: { 200: Embeddings },
      },
    },
    async (request, reply) => {
      await embeddings.respond({ request, reply, body: request.body });
    },
  );
};
