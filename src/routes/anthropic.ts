import { type FastifyPluginAsyncTypebox, Type } from "@fastify/type-provider-typebox";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { ChatPipeline } from "../chat/chat-pipeline.ts";
import type { WireHeaders } from "../chat/chat-source.ts";
import { anthropicEventProtocol } from "../chat/protocols/anthropic-event-protocol.ts";
import { anthropicJsonProtocol } from "../chat/protocols/anthropic-json-protocol.ts";
import { readAnthropicMessagesRequest } from "../chat/protocols/anthropic-messages-request.ts";

// Blocks, messages and the body keep every field the client sends: the native relay passes them
// on, and the language-model source refuses, by name, what it cannot carry
// (readAnthropicMessagesRequest).
const Open = { additionalProperties: true } as const;

const ContentBlock = Type.Object(
  {
    type: Type.String({
      description:
        "`text`, `image`, `document`, `tool_result` (user); `text`, `tool_use`, `thinking` (assistant)",
    }),
    text: Type.Optional(Type.String()),
    source: Type.Optional(
      Type.Object(
        {
          type: Type.String({ description: "`base64`, `url` (or `text` for a document)" }),
          media_type: Type.Optional(Type.String()),
          data: Type.Optional(Type.String()),
          url: Type.Optional(Type.String()),
        },
        Open,
      ),
    ),
    id: Type.Optional(Type.String()),
    name: Type.Optional(Type.String()),
    input: Type.Optional(Type.Unknown()),
    tool_use_id: Type.Optional(Type.String()),
    // A tool result's string or blocks, and other block kinds' own shapes (server tool results).
    content: Type.Optional(Type.Unknown({ description: "A `tool_result`'s content: a string or blocks" })),
    is_error: Type.Optional(Type.Boolean()),
    thinking: Type.Optional(Type.String()),
    signature: Type.Optional(Type.String()),
  },
  { ...Open, description: "A content block" },
);

const Message = Type.Object(
  {
    role: Type.Union([Type.Literal("user"), Type.Literal("assistant")]),
    content: Type.Union([Type.String(), Type.Array(ContentBlock)]),
  },
  Open,
);

const Tool = Type.Object(
  {
    // Not every tool Anthropic runs itself has a name (an MCP toolset names its server).
    name: Type.Optional(Type.String()),
    description: Type.Optional(Type.String()),
    input_schema: Type.Optional(Type.Object({}, { ...Open, description: "A JSON Schema of the input" })),
    type: Type.Optional(Type.String({ description: "`custom`, or a tool Anthropic runs itself" })),
  },
  Open,
);

/** What a Messages request and a token count share. */
const conversationFields = {
  model: Type.Optional(Type.String({ maxLength: 200 })),
  messages: Type.Array(Message, { minItems: 1 }),
  system: Type.Optional(Type.Union([Type.String(), Type.Array(ContentBlock)])),
  tools: Type.Optional(Type.Array(Tool)),
  tool_choice: Type.Optional(
    Type.Object(
      {
        type: Type.String({ description: "`auto`, `any`, `tool` or `none`" }),
        name: Type.Optional(Type.String()),
        disable_parallel_tool_use: Type.Optional(Type.Boolean()),
      },
      Open,
    ),
  ),
  thinking: Type.Optional(
    Type.Object(
      {
        type: Type.String({ description: "`enabled` or `disabled`" }),
        budget_tokens: Type.Optional(Type.Integer({ minimum: 1 })),
      },
      Open,
    ),
  ),
};

const MessagesBody = Type.Object(
  {
    ...conversationFields,
    max_tokens: Type.Optional(Type.Integer({ minimum: 1 })),
    stream: Type.Optional(Type.Boolean()),
    stop_sequences: Type.Optional(Type.Array(Type.String())),
    temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    top_p: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    top_k: Type.Optional(Type.Integer({ minimum: 0 })),
    metadata: Type.Optional(
      Type.Object({ user_id: Type.Optional(Type.Union([Type.String(), Type.Null()])) }, Open),
    ),
    output_config: Type.Optional(
      Type.Object(
        {
          effort: Type.Optional(Type.String({ description: "`low`, `medium`, `high`, `xhigh` or `max`" })),
          format: Type.Optional(
            Type.Object(
              {
                type: Type.String({ description: "`json_schema`" }),
                schema: Type.Optional(Type.Object({}, Open)),
              },
              Open,
            ),
          ),
        },
        Open,
      ),
    ),
  },
  {
    ...Open,
    description:
      "Anthropic's Messages request. Towards the anthropic provider the body is passed on as sent, other fields included, with only `model` replaced; for every other provider it is translated, and a field the translation cannot carry is a 400 that names it.",
  },
);

const CountTokensBody = Type.Object(conversationFields, {
  ...Open,
  description: "A Messages request's conversation, to count its input tokens (anthropic models only)",
});

const Usage = Type.Object({
  input_tokens: Type.Integer({ description: "Input tokens not read from or written to the prompt cache" }),
  output_tokens: Type.Integer(),
  cache_creation_input_tokens: Type.Integer(),
  cache_read_input_tokens: Type.Integer(),
});

const ReplyBlock = Type.Object({
  type: Type.String({ description: "`thinking`, `text` or `tool_use`" }),
  text: Type.Optional(Type.String()),
  thinking: Type.Optional(Type.String()),
  signature: Type.Optional(Type.String()),
  id: Type.Optional(Type.String()),
  name: Type.Optional(Type.String()),
  input: Type.Optional(Type.Unknown()),
});

const MessageObject = Type.Object({
  id: Type.String(),
  type: Type.Literal("message"),
  role: Type.Literal("assistant"),
  model: Type.String(),
  content: Type.Array(ReplyBlock),
  stop_reason: Type.String({ description: "`end_turn`, `max_tokens`, `stop_sequence`, `tool_use`, ..." }),
  stop_sequence: Type.Union([Type.String(), Type.Null()]),
  usage: Usage,
});

const TokenCount = Type.Object({ input_tokens: Type.Integer() }, Open);

/** `anthropic-version` and `anthropic-beta` as the client sent them, for the relay to pass on. */
function wireHeaders(request: FastifyRequest): WireHeaders {
  const header = (name: string) => {
    const value = request.headers[name];
    return Array.isArray(value) ? value.join(",") : value;
  };
  const version = header("anthropic-version");
  const beta = header("anthropic-beta");
  return { ...(version === undefined ? {} : { version }), ...(beta === undefined ? {} : { beta }) };
}

/** The Anthropic-compatible surface: `POST /v1/messages` (JSON and events) and its `count_tokens`. */
export type AnthropicRoutesOptions = { chat: ChatPipeline };

export const anthropicRoutes: FastifyPluginAsyncTypebox<AnthropicRoutesOptions> = async (app, options) => {
  const { chat } = options;

  app.post(
    "/v1/messages",
    {
      schema: {
        tags: ["anthropic"],
        summary: "Anthropic Messages (JSON, or its event stream with stream: true), on any provider",
        body: MessagesBody,
        response: { 200: MessageObject },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const { input, untranslated, features } = readAnthropicMessagesRequest(body);
      const requestedModel = body.model;
      const call = {
        request,
        reply,
        kind: "anthropic_messages" as const,
        input,
        wireBody: body,
        wireHeaders: wireHeaders(request),
        untranslated,
        features,
      };
      if (body.stream === true) {
        await chat.stream({
          ...call,
          protocol: (context) => anthropicEventProtocol(context, { requestedModel }),
        });
        return reply;
      }
      return chat.respond({
        ...call,
        protocol: (context) => anthropicJsonProtocol(context, { requestedModel }),
      });
    },
  );

  app.post(
    "/v1/messages/count_tokens",
    {
      schema: {
        tags: ["anthropic"],
        summary:
          "The input tokens of a Messages request, counted by the anthropic provider; a 400 for others",
        body: CountTokensBody,
        response: { 200: TokenCount },
      },
    },
    async (request, reply) => {
      const counted = await chat.countTokens({
        reply,
        body: request.body,
        wireHeaders: wireHeaders(request),
      });
      // The client left: there is no one to answer.
      if (counted === undefined) {
        reply.hijack();
        return reply;
      }
      // The upstream's JSON as it is: a string skips the response schema's serialiser.
      const untyped: FastifyReply = reply;
      return untyped.type("application/json; charset=utf-8").send(counted);
    },
  );
};
