import { ServiceError } from "../errors/service-error.ts";

type WireMessage = Readonly<{ role?: unknown; content?: unknown }>;

/** Blank text: empty, or only whitespace. */
const isBlank = (text: string) => text.trim().length === 0;

/**
 * A user or system message with no text (empty or only whitespace) is a 400 naming its field,
 * before anything is sent upstream: a model given nothing answers something anyway, and bills it.
 * A message whose content holds other parts (an image) is not empty.
 */
export function checkEmptyMessages(messages: readonly WireMessage[] | undefined, field = "messages"): void {
  if (messages === undefined) return;
  messages.forEach((message, index) => {
    if (message.role !== "user" && message.role !== "system") return;
    const content = message.content;
    const blank =
      typeof content === "string"
        ? isBlank(content)
        : Array.isArray(content) &&
          content.every(
            (part) =>
              typeof part === "object" &&
              part !== null &&
              (part as { type?: unknown }).type === "text" &&
              isBlank(String((part as { text?: unknown }).text ?? "")),
          );
    if (blank) throwBlank(`${field}.${index}.content`);
  });
}

/** The same for one text field (`/chat`'s `message` or `system`). */
export function checkEmptyText(text: string | undefined, field: string): void {
  if (text !== undefined && isBlank(text)) throwBlank(field);
}

function throwBlank(field: string): never {
  throw new ServiceError({
    code: "VALIDATION_FAILED",
    message: `body.${field} is empty or only whitespace`,
    param: field,
  });
}
