import { type FastifyPluginAsyncTypebox, type Static, Type } from "@fastify/type-provider-typebox";
import { checkCollectionAllowed } from "../access/collection-access.ts";
import { ownerFilterFor } from "../access/ownership.ts";
import type { Principal } from "../access/principal.ts";
import type { ChatPipeline } from "../chat/chat-pipeline.ts";
import { checkEmptyMessages, checkEmptyText } from "../chat/check-empty-messages.ts";
import { seedJsonProtocol } from "../chat/protocols/seed-json-protocol.ts";
import { seedSseProtocol } from "../chat/protocols/seed-sse-protocol.ts";
import { seedTextProtocol } from "../chat/protocols/seed-text-protocol.ts";
import { COLLECTION_PATTERN, DEFAULT_COLLECTION } from "../knowledge/knowledge-store.ts";
import type { ChatInput } from "../llm/chat-input.ts";
import type { LlmCallMessage } from "../llm/llm-call-observer.ts";

const ChatMessage = Type.Object({
  role: Type.Union([Type.Literal("system"), Type.Literal("user"), Type.Literal("assistant")]),
  content: Type.String(),
});

/** Chunks of context when `knowledge` is `true`, and the most a request may ask for. */
export const DEFAULT_KNOWLEDGE_LIMIT = 5;
export const MAX_KNOWLEDGE_LIMIT = 20;

/** Grounding on the knowledge base, the same on every chat endpoint (`/v1/chat/completions` too, as an extension). */
export const KnowledgeOption = Type.Union(
  [
    Type.Boolean(),
    Type.Object(
      {
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_KNOWLEDGE_LIMIT })),
        collection: Type.Optional(Type.String({ pattern: COLLECTION_PATTERN })),
      },
      { additionalProperties: false },
    ),
  ],
  {
    description: `Ground the reply on the knowledge base: \`true\` (${DEFAULT_KNOWLEDGE_LIMIT} chunks of the \`default\` collection) or \`{"limit": n, "collection": name}\` (1-${MAX_KNOWLEDGE_LIMIT}). Chunks matching the last user message go to the model as numbered passages, and the reply names them in \`sources\` (with \`page\` for a PDF's).`,
  },
);

export const ChatBody = Type.Object({
  message: Type.Optional(Type.String({ description: "The user's message" })),
  messages: Type.Optional(
    Type.Array(ChatMessage, {
      description: "The conversation so far; `message`, when also given, follows it",
    }),
  ),
  system: Type.Optional(Type.String({ description: "A system prompt" })),
  model: Type.Optional(
    Type.String({ maxLength: 200, description: "`provider:model`, or a model of the default provider" }),
  ),
  temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 2 })),
  max_tokens: Type.Optional(Type.Integer({ minimum: 1 })),
  top_p: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  stop: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String(), { maxItems: 4 })])),
  knowledge: Type.Optional(KnowledgeOption),
});
type ChatBodyType = Static<typeof ChatBody>;

const Usage = Type.Object({
  prompt_tokens: Type.Integer(),
  completion_tokens: Type.Integer(),
  total_tokens: Type.Integer(),
});

const Source = Type.Object({
  id: Type.Integer({
    minimum: 1,
    description: "the passage's number in the prompt, as the model cites it: [1]",
  }),
  document_id: Type.String(),
  source: Type.String(),
  title: Type.Optional(Type.String()),
  chunk_index: Type.Integer(),
  page: Type.Optional(Type.Integer({ minimum: 1, description: "the page the passage comes from (PDF)" })),
  score: Type.Number(),
});

const ChatReply = Type.Object({
  reply: Type.String(),
  model: Type.String(),
  usage: Usage,
  finish_reason: Type.String(),
  request_id: Type.String(),
  sources: Type.Optional(
    Type.Array(Source, { description: "with `knowledge`: the chunks given to the model, best first" }),
  ),
});

export type ChatRoutesOptions = { chat: ChatPipeline };

/** `POST /chat`, `/chat/stream` (Server-Sent Events) and `/chat/stream-text` (plain text). */
export const chatRoutes: FastifyPluginAsyncTypebox<ChatRoutesOptions> = async (app, options) => {
  const { chat } = options;
  const call = (request: { body: ChatBodyType; principal?: Principal }) => ({
    input: toChatInput(checkedBody(request.body)),
    ...knowledgeCall(request.body.knowledge, request.principal),
  });

  app.post(
    "/chat",
    {
      schema: {
        tags: ["chat"],
        summary: "Chat: the whole reply as JSON",
        body: ChatBody,
        response: { 200: ChatReply },
      },
    },
    async (request, reply) =>
      chat.respond({ ...call(request), request, reply, kind: "chat", protocol: seedJsonProtocol }),
  );

  app.post(
    "/chat/stream",
    {
      schema: {
        tags: ["chat"],
        summary: "Chat streamed as Server-Sent Events",
        description:
          '`event: meta` / `data: request_id=<id>` first (with `knowledge`, then `event: sources` / `data: {"sources": [...]}`), a `data:` event per text chunk (a chunk with newlines spans several `data:` lines), `event: usage`, then `data: [DONE]`. A failure after the start is `event: error` / `data: <ErrorType>: <message>` then `data: [DONE]`.',
        body: ChatBody,
      },
    },
    async (request, reply) => {
      await chat.stream({
        ...call(request),
        request,
        reply,
        kind: "chat_stream_sse",
        protocol: seedSseProtocol,
      });
      return reply;
    },
  );

  app.post(
    "/chat/stream-text",
    {
      schema: {
        tags: ["chat"],
        summary: "Chat streamed as plain text",
        description:
          "`[request_id=<id>]` on the first line, then the text as it arrives; a failure appends `\\n[ERROR] <ErrorType>: <message>\\n`.",
        body: ChatBody,
      },
    },
    async (request, reply) => {
      // Grounded like the others; plain text has no place to name the sources.
      await chat.stream({
        ...call(request),
        request,
        reply,
        kind: "chat_stream_text",
        protocol: seedTextProtocol,
      });
      return reply;
    },
  );
};

/**
 * A request's `knowledge` as the chat pipeline takes it: how many chunks, from which collection,
 * of whose documents. A collection outside the caller's key's `collections` is 403
 * COLLECTION_NOT_ALLOWED (`param: "knowledge"`), before any model call.
 */
export function knowledgeCall(
  knowledge: Static<typeof KnowledgeOption> | undefined,
  principal: Principal | undefined,
): { knowledgeLimit?: number; knowledgeCollection?: string; knowledgeOwner?: string | null } {
  if (knowledge === undefined || knowledge === false) return {};
  const collection = knowledge === true ? undefined : knowledge.collection;
  checkCollectionAllowed(principal, collection ?? DEFAULT_COLLECTION, "knowledge");
  return {
    knowledgeLimit:
      knowledge === true ? DEFAULT_KNOWLEDGE_LIMIT : (knowledge.limit ?? DEFAULT_KNOWLEDGE_LIMIT),
    ...(collection === undefined ? {} : { knowledgeCollection: collection }),
    knowledgeOwner: ownerFilterFor(principal),
  };
}

/** A blank message, wherever it is, is a 400 naming the field. */
function checkedBody(body: ChatBodyType): ChatBodyType {
  checkEmptyText(body.message, "message");
  checkEmptyText(body.system, "system");
  checkEmptyMessages(body.messages);
  return body;
}

function toChatInput(body: ChatBodyType): ChatInput {
  const messages: LlmCallMessage[] = [];
  if (body.system !== undefined) messages.push({ role: "system", content: body.system });
  if (body.messages !== undefined) messages.push(...body.messages);
  if (body.message !== undefined) messages.push({ role: "user", content: body.message });
  return {
    model: body.model,
    messages,
    parameters: {
      temperature: body.temperature,
      maxTokens: body.max_tokens,
      topP: body.top_p,
      stop: typeof body.stop === "string" ? [body.stop] : body.stop,
    },
  };
}
