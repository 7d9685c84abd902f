import { type FastifyPluginAsyncTypebox, type Static, Type } from "@fastify/type-provider-typebox";
import type { ChatPipeline } from "../chat/chat-pipeline.ts";
import { openAIChunkProtocol } from "../chat/protocols/openai-chunk-protocol.ts";
import { openAIJsonProtocol } from "../chat/protocols/openai-json-protocol.ts";
import { ServiceError } from "../errors/service-error.ts";
import type { ChatInput } from "../llm/chat-input.ts";
import type { LlmCallMessage } from "../llm/llm-call-observer.ts";
import type { ModelRegistry } from "../llm/model-registry.ts";

const ContentPart = Type.Object({ type: Type.String(), text: Type.Optional(Type.String()) });

const Message = Type.Object({
  role: Type.Union([
    Type.Literal("system"),
    Type.Literal("developer"),
    Type.Literal("user"),
    Type.Literal("assistant"),
  ]),
  content: Type.Union([Type.String(), Type.Array(ContentPart), Type.Null()]),
  name: Type.Optional(Type.String()),
});

const Nullable = <T extends Parameters<typeof Type.Optional>[0]>(schema: T) =>
  Type.Optional(Type.Union([schema, Type.Null()]));

const CompletionBody = Type.Object({
  model: Type.Optional(Type.String({ maxLength: 200 })),
  messages: Type.Array(Message, { minItems: 1 }),
  stream: Nullable(Type.Boolean()),
  stream_options: Nullable(Type.Object({ include_usage: Type.Optional(Type.Boolean()) })),
  temperature: Nullable(Type.Number({ minimum: 0, maximum: 2 })),
  top_p: Nullable(Type.Number({ minimum: 0, maximum: 1 })),
  max_tokens: Nullable(Type.Integer({ minimum: 1 })),
  max_completion_tokens: Nullable(Type.Integer({ minimum: 1 })),
  stop: Nullable(Type.Union([Type.String(), Type.Array(Type.String(), { maxItems: 4 })])),
  n: Nullable(Type.Integer({ minimum: 1, maximum: 1, description: "Only 1 is supported" })),
});
type CompletionBodyType = Static<typeof CompletionBody>;

const Usage = Type.Object({
  prompt_tokens: Type.Integer(),
  completion_tokens: Type.Integer(),
  total_tokens: Type.Integer(),
});

const Completion = Type.Object({
  id: Type.String(),
  object: Type.Literal("chat.completion"),
  created: Type.Integer(),
  model: Type.String(),
  system_fingerprint: Type.Null(),
  choices: Type.Array(
    Type.Object({
      index: Type.Integer(),
      message: Type.Object({ role: Type.Literal("assistant"), content: Type.String(), refusal: Type.Null() }),
      logprobs: Type.Null(),
      finish_reason: Type.String(),
    }),
  ),
  usage: Usage,
});

const ModelList = Type.Object({
  object: Type.Literal("list"),
  data: Type.Array(
    Type.Object({
      id: Type.String(),
      object: Type.Literal("model"),
      created: Type.Integer(),
      owned_by: Type.String(),
    }),
  ),
});

/** The OpenAI-compatible surface: `POST /v1/chat/completions` (JSON and SSE) and `GET /v1/models`. */
export type OpenAIRoutesOptions = { chat: ChatPipeline; modelRegistry: ModelRegistry };

export const openAIRoutes: FastifyPluginAsyncTypebox<OpenAIRoutesOptions> = async (app, options) => {
  const { chat, modelRegistry } = options;
  const startedAt = Math.floor(Date.now() / 1000);

  app.post(
    "/v1/chat/completions",
    {
      schema: {
        tags: ["openai"],
        summary: "OpenAI Chat Completions (JSON, or SSE with stream: true)",
        body: CompletionBody,
        response: { 200: Completion },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const call = { request, reply, kind: "openai_chat_completions" as const, input: toChatInput(body) };
      const requestedModel = body.model ?? undefined;
      if (body.stream === true) {
        const includeUsage = body.stream_options?.include_usage === true;
        await chat.stream({
          ...call,
          includeUsage,
          protocol: (context) => openAIChunkProtocol(context, { requestedModel, includeUsage }),
        });
        return reply;
      }
      return chat.respond({
        ...call,
        protocol: (context) => openAIJsonProtocol(context, { requestedModel }),
      });
    },
  );

  app.get(
    "/v1/models",
    {
      schema: { tags: ["openai"], summary: "The models this instance serves", response: { 200: ModelList } },
    },
    async () => ({
      object: "list" as const,
      data: modelRegistry.list().map((model) => ({
        id: model.name,
        object: "model" as const,
        created: startedAt,
        owned_by: model.provider,
      })),
    }),
  );
};

function toChatInput(body: CompletionBodyType): ChatInput {
  const messages: LlmCallMessage[] = body.messages.map((message, index) => ({
    // `developer` is what newer OpenAI models call the system prompt.
    role: message.role === "developer" ? "system" : message.role,
    content: textContent(message.content, index),
  }));
  const stop = body.stop ?? undefined;
  return {
    model: body.model,
    messages,
    parameters: {
      temperature: body.temperature ?? undefined,
      topP: body.top_p ?? undefined,
      maxTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
      stop: typeof stop === "string" ? [stop] : stop,
    },
  };
}

function textContent(content: Static<typeof Message>["content"], index: number): string {
  if (content === null) return "";
  if (typeof content === "string") return content;
  let text = "";
  for (const part of content) {
    if (part.type !== "text" || part.text === undefined) {
      throw new ServiceError({
        code: "VALIDATION_FAILED",
        message: `messages[${index}].content: only text parts are supported, got "${part.type}"`,
        param: `messages.${index}.content`,
      });
    }
    text += part.text;
  }
  return text;
}
