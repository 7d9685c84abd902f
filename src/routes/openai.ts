import { type FastifyPluginAsyncTypebox, Type } from "@fastify/type-provider-typebox";
import type { ChatPipeline } from "../chat/chat-pipeline.ts";
import { checkEmptyMessages } from "../chat/check-empty-messages.ts";
import { readOpenAIChatRequest } from "../chat/protocols/openai-chat-request.ts";
import { openAIChunkProtocol } from "../chat/protocols/openai-chunk-protocol.ts";
import { openAIJsonProtocol } from "../chat/protocols/openai-json-protocol.ts";
import { ServiceError } from "../errors/service-error.ts";
import { PRINTABLE_FORMAT } from "../printable-text.ts";
import type { ModelRouter } from "../routing/model-router.ts";
import { KnowledgeOption, knowledgeCall } from "./chat.ts";

// Parts, messages and the body keep every field the client sends: the relay passes them on, and
// the language-model source refuses, by name, what it cannot carry (readOpenAIChatRequest).
const ContentPart = Type.Object(
  {
    type: Type.String({
      description: "`text`, `image_url`, `input_audio`, `file` (or `refusal` from the assistant)",
    }),
    text: Type.Optional(Type.String()),
    image_url: Type.Optional(
      Type.Object({
        url: Type.String({ description: "An http(s) URL or a base64 `data:` URL" }),
        detail: Type.Optional(Type.String()),
      }),
    ),
    input_audio: Type.Optional(Type.Object({ data: Type.String(), format: Type.String() })),
    file: Type.Optional(
      Type.Object({
        file_data: Type.Optional(Type.String({ description: "A base64 `data:` URL" })),
        file_id: Type.Optional(Type.String()),
        filename: Type.Optional(Type.String()),
      }),
    ),
  },
  { description: "A part of a message's content" },
);

const FunctionTool = Type.Object({
  type: Type.String({ description: "`function`" }),
  function: Type.Optional(
    Type.Object({
      name: Type.String(),
      description: Type.Optional(Type.String()),
      parameters: Type.Optional(Type.Object({}, { description: "A JSON Schema of the arguments" })),
      strict: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
    }),
  ),
});

const ToolCall = Type.Object({
  id: Type.String(),
  type: Type.String(),
  function: Type.Object({ name: Type.String(), arguments: Type.String() }),
});

const Nullable = <T extends Parameters<typeof Type.Optional>[0]>(schema: T) =>
  Type.Optional(Type.Union([schema, Type.Null()]));

const Message = Type.Object({
  role: Type.Union([
    Type.Literal("system"),
    Type.Literal("developer"),
    Type.Literal("user"),
    Type.Literal("assistant"),
    Type.Literal("tool"),
    Type.Literal("function"),
  ]),
  content: Nullable(Type.Union([Type.String(), Type.Array(ContentPart)])),
  name: Type.Optional(Type.String()),
  tool_calls: Type.Optional(Type.Array(ToolCall)),
  tool_call_id: Type.Optional(Type.String()),
  refusal: Nullable(Type.String()),
});

const CompletionBody = Type.Object(
  {
    model: Type.Optional(Type.String({ maxLength: 200 })),
    messages: Type.Array(Message, { minItems: 1 }),
    stream: Nullable(Type.Boolean()),
    stream_options: Nullable(Type.Object({ include_usage: Type.Optional(Type.Boolean()) })),
    temperature: Nullable(Type.Number({ minimum: 0, maximum: 2 })),
    top_p: Nullable(Type.Number({ minimum: 0, maximum: 1 })),
    max_tokens: Nullable(Type.Integer({ minimum: 1 })),
    max_completion_tokens: Nullable(Type.Integer({ minimum: 1 })),
    stop: Nullable(Type.Union([Type.String(), Type.Array(Type.String(), { maxItems: 4 })])),
    n: Nullable(Type.Integer({ minimum: 1, maximum: 128 })),
    tools: Nullable(Type.Array(FunctionTool)),
    tool_choice: Nullable(
      Type.Union([
        Type.String({ description: "`none`, `auto` or `required`" }),
        Type.Object({ type: Type.String(), function: Type.Optional(Type.Object({ name: Type.String() })) }),
      ]),
    ),
    parallel_tool_calls: Nullable(Type.Boolean()),
    response_format: Nullable(
      Type.Object({
        type: Type.String({ description: "`text`, `json_object` or `json_schema`" }),
        json_schema: Type.Optional(
          Type.Object({
            name: Type.String(),
            description: Type.Optional(Type.String()),
            schema: Type.Optional(Type.Object({})),
            strict: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
          }),
        ),
      }),
    ),
    presence_penalty: Nullable(Type.Number({ minimum: -2, maximum: 2 })),
    frequency_penalty: Nullable(Type.Number({ minimum: -2, maximum: 2 })),
    logit_bias: Nullable(Type.Record(Type.String(), Type.Number())),
    logprobs: Nullable(Type.Boolean()),
    top_logprobs: Nullable(Type.Integer({ minimum: 0, maximum: 20 })),
    seed: Nullable(Type.Integer()),
    user: Nullable(Type.String()),
    metadata: Nullable(Type.Record(Type.String(), Type.String())),
    store: Nullable(Type.Boolean()),
    service_tier: Nullable(Type.String()),
    reasoning_effort: Nullable(Type.String()),
    modalities: Nullable(Type.Array(Type.String())),
    prediction: Nullable(Type.Object({ type: Type.String() })),
    knowledge: Type.Optional(KnowledgeOption),
  },
  {
    description:
      "Every field of OpenAI's request. Towards a provider that speaks Chat Completions (openai, ollama) the body is passed on as sent, other fields included, with only `model` replaced; through the AI SDK (anthropic, echo) a field the translation cannot carry is a 400 whose `param` names it.",
  },
);

const Source = Type.Object({
  id: Type.Integer({ minimum: 1 }),
  document_id: Type.String(),
  source: Type.String(),
  title: Type.Optional(Type.String()),
  chunk_index: Type.Integer(),
  page: Type.Optional(Type.Integer({ minimum: 1 })),
  score: Type.Number(),
});

const Usage = Type.Object({
  prompt_tokens: Type.Integer(),
  completion_tokens: Type.Integer(),
  total_tokens: Type.Integer(),
  prompt_tokens_details: Type.Optional(Type.Object({ cached_tokens: Type.Integer() })),
  completion_tokens_details: Type.Optional(Type.Object({ reasoning_tokens: Type.Integer() })),
  cache_creation_input_tokens: Type.Optional(
    Type.Integer({ description: "Prompt-cache writes (Anthropic)" }),
  ),
});

const ReplyToolCall = Type.Object({
  id: Type.String(),
  type: Type.Literal("function"),
  function: Type.Object({ name: Type.String(), arguments: Type.String() }),
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
      message: Type.Object({
        role: Type.Literal("assistant"),
        content: Type.Union([Type.String(), Type.Null()]),
        refusal: Type.Null(),
        tool_calls: Type.Optional(Type.Array(ReplyToolCall)),
      }),
      logprobs: Type.Null(),
      finish_reason: Type.String(),
    }),
  ),
  usage: Usage,
  sources: Type.Optional(
    Type.Array(Source, {
      description: "an extension: with `knowledge`, the passages given to the model, as cited",
    }),
  ),
});

const ModelObject = Type.Object({
  id: Type.String(),
  object: Type.Literal("model"),
  created: Type.Integer(),
  owned_by: Type.String(),
});

const ModelList = Type.Object({ object: Type.Literal("list"), data: Type.Array(ModelObject) });

/** The OpenAI-compatible surface: `POST /v1/chat/completions` (JSON and SSE) and `GET /v1/models`. */
export type OpenAIRoutesOptions = { chat: ChatPipeline; router: ModelRouter };

export const openAIRoutes: FastifyPluginAsyncTypebox<OpenAIRoutesOptions> = async (app, options) => {
  const { chat, router } = options;
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
      // `knowledge` is ours, not OpenAI's: it grounds the call and goes no further.
      const { knowledge, ...body } = request.body;
      checkEmptyMessages(body.messages);
      const { input, untranslated, features } = readOpenAIChatRequest(body);
      const call = {
        request,
        reply,
        kind: "openai_chat_completions" as const,
        input,
        wireBody: body,
        untranslated,
        features,
        ...knowledgeCall(knowledge, request.principal),
      };
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
    async () => ({ object: "list" as const, data: servedModels() }),
  );

  app.get(
    "/v1/models/:model",
    {
      schema: {
        tags: ["openai"],
        summary: "One model this instance serves, or 404",
        params: Type.Object({ model: Type.String({ maxLength: 200, format: PRINTABLE_FORMAT }) }),
        response: { 200: ModelObject },
      },
    },
    async (request) => {
      const name = request.params.model;
      const model = servedModels().find((candidate) => candidate.id === name);
      if (model === undefined) {
        throw new ServiceError({
          code: "MODEL_NOT_FOUND",
          message: `The model \`${name}\` is not served here; GET /v1/models lists those that are.`,
          param: "model",
        });
      }
      return model;
    },
  );

  /** Every name a client may send: each model's, its aliases, and the built-in echo. */
  function servedModels() {
    const data = router.models().flatMap((group) =>
      [group.name, ...group.aliases].map((name) => ({
        id: name,
        object: "model" as const,
        created: startedAt,
        owned_by: group.deployments[0].model.provider,
      })),
    );
    if (!data.some((model) => model.id === "echo")) {
      data.push({ id: "echo", object: "model" as const, created: startedAt, owned_by: "echo" });
    }
    return data;
  }
};
