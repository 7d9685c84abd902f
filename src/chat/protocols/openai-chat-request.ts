import type { ChatInput } from "../../llm/chat-input.ts";
import type { LlmCallMessage } from "../../llm/llm-call-observer.ts";
import type { UntranslatedField } from "../chat-source.ts";

/** A Chat Completions body as the route's schema checked it; every other field is kept as sent. */
export type OpenAIChatBody = Readonly<Record<string, unknown>> & {
  model?: string | null;
  messages: readonly OpenAIMessage[];
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
  temperature?: number | null;
  top_p?: number | null;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  stop?: string | readonly string[] | null;
  n?: number | null;
};

export type OpenAIMessage = Readonly<Record<string, unknown>> & {
  role: string;
  content?: string | readonly OpenAIContentPart[] | null;
};

type OpenAIContentPart = Readonly<Record<string, unknown>> & { type: string; text?: string };

/**
 * The fields the language-model source carries to any model (the AI SDK's call options); a source
 * that speaks Chat Completions itself (the relay) takes the body whole instead. A field outside
 * this table is refused for the language-model source, never dropped.
 */
const LANGUAGE_MODEL_FIELDS: ReadonlySet<string> = new Set([
  "model",
  "messages",
  "stream",
  "stream_options",
  "temperature",
  "top_p",
  "max_tokens",
  "max_completion_tokens",
  "stop",
  "n",
]);

/** The message fields the language-model prompt carries, by role. */
const LANGUAGE_MODEL_MESSAGE_FIELDS: ReadonlySet<string> = new Set(["role", "content"]);
const LANGUAGE_MODEL_ROLES: Readonly<Record<string, LlmCallMessage["role"]>> = {
  system: "system",
  // What newer OpenAI models call the system prompt.
  developer: "system",
  user: "user",
  assistant: "assistant",
};

export type OpenAIChatRequest = {
  /** The conversation as text, for limits, the observer and the language-model source. */
  input: ChatInput;
  /** The first field `input` leaves out; the language-model source refuses the request for it. */
  untranslated: UntranslatedField | undefined;
};

/** Reads a Chat Completions body into the chat layer's input, noting what the input cannot carry. */
export function readOpenAIChatRequest(body: OpenAIChatBody): OpenAIChatRequest {
  let untranslated: UntranslatedField | undefined;
  const note = (param: string, reason: string) => {
    untranslated ??= { param, reason };
  };
  for (const [field, value] of Object.entries(body)) {
    if (value !== null && value !== undefined && !LANGUAGE_MODEL_FIELDS.has(field)) {
      note(field, "the field has no translation for it");
    }
  }
  if (typeof body.n === "number" && body.n > 1) note("n", "it answers one choice at a time");

  const messages = body.messages.map((message, index): LlmCallMessage => {
    const role = LANGUAGE_MODEL_ROLES[message.role];
    if (role === undefined) note(`messages.${index}.role`, `it takes no "${message.role}" messages`);
    for (const [field, value] of Object.entries(message)) {
      if (value !== null && value !== undefined && !LANGUAGE_MODEL_MESSAGE_FIELDS.has(field)) {
        note(`messages.${index}.${field}`, "the field has no translation for it");
      }
    }
    return { role: role ?? "user", content: textOf(message.content, index, note) };
  });

  const stop = body.stop ?? undefined;
  return {
    input: {
      model: body.model ?? undefined,
      messages,
      parameters: {
        temperature: body.temperature ?? undefined,
        topP: body.top_p ?? undefined,
        maxTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
        stop: typeof stop === "string" ? [stop] : stop,
      },
    },
    untranslated,
  };
}

/** The text of a message's content: its text parts joined; other parts are noted. */
function textOf(
  content: OpenAIMessage["content"],
  index: number,
  note: (param: string, reason: string) => void,
): string {
  if (content === null || content === undefined) return "";
  if (typeof content === "string") return content;
  let text = "";
  content.forEach((part, partIndex) => {
    if (part.type === "text" && typeof part.text === "string") text += part.text;
    else note(`messages.${index}.content.${partIndex}`, `it takes no "${part.type}" parts`);
  });
  return text;
}
