import { ServiceError } from "../errors/service-error.ts";
import type { ChatInput } from "../llm/chat-input.ts";

export type ChatLimits = Readonly<{ maxMessageChars: number; maxMessages: number }>;

/**
 * `MAX_MESSAGES` and `MAX_MESSAGE_CHARS`, checked before anything is sent upstream. `field` names
 * the request's messages field in the error (`messages` on both APIs).
 */
export function checkChatLimits(input: ChatInput, limits: ChatLimits): void {
  const conversation = input.messages.filter((message) => message.role !== "system");
  if (conversation.length === 0) {
    throw new ServiceError({
      code: "VALIDATION_FAILED",
      message: "body.message or body.messages is required",
      param: "messages",
    });
  }
  if (conversation.length > limits.maxMessages) {
    throw new ServiceError({
      code: "VALIDATION_FAILED",
      message: `body.messages holds ${conversation.length} messages; at most ${limits.maxMessages} are allowed`,
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
}
