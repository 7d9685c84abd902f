import { ServiceError } from "../errors/service-error.ts";
import type { ChatInput } from "../llm/chat-input.ts";

export type ChatLimits = Readonly<{ maxMessageChars: number; maxMessages: number; maxInputChars: number }>;

/**
 * `MAX_MESSAGES` (every role counts), `MAX_MESSAGE_CHARS` and `MAX_INPUT_CHARS`, checked on what
 * the client sent, before anything is searched or sent upstream.
 */
export function checkChatLimits(input: ChatInput, limits: ChatLimits): void {
  if (!input.messages.some((message) => message.role !== "system")) {
    throw new ServiceError({
      code: "VALIDATION_FAILED",
      message: "body.message or body.messages is required",
      param: "messages",
    });
  }
  if (input.messages.length > limits.maxMessages) {
    throw new ServiceError({
      code: "VALIDATION_FAILED",
      message: `the request holds ${input.messages.length} messages (system prompt included); at most ${limits.maxMessages} are allowed`,
      param: "messages",
    });
  }
  for (const message of input.messages) {
    if (message.content.length > limits.maxMessageChars) {
      throw new ServiceError({
        code: "VALIDATION_FAILED",
        message: `a ${message.role} message holds ${message.content.length} characters; at most ${limits.maxMessageChars} are allowed`,
        param: "messages",
      });
    }
  }
  checkInputChars(input, limits);
}

/** `MAX_INPUT_CHARS` over every message: also checked once knowledge context has been added. */
export function checkInputChars(input: ChatInput, limits: Pick<ChatLimits, "maxInputChars">): void {
  const characters = inputChars(input);
  if (characters > limits.maxInputChars) {
    throw new ServiceError({
      code: "VALIDATION_FAILED",
      message: `the request's messages hold ${characters} characters in all; at most ${limits.maxInputChars} are allowed`,
      param: "messages",
    });
  }
}

export function inputChars(input: ChatInput): number {
  let characters = 0;
  for (const message of input.messages) characters += message.content.length;
  return characters;
}
