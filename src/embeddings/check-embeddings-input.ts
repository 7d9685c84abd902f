import { ServiceError } from "../errors/service-error.ts";
import type { EmbeddingsBody, EmbeddingsInput } from "./embeddings-body.ts";

export type EmbeddingsLimits = Readonly<{ embeddingsMaxInputs: number; maxMessageChars: number }>;

/**
 * `input` as one list, held to `EMBEDDINGS_MAX_INPUTS` inputs and `MAX_MESSAGE_CHARS` characters
 * per text, before any upstream is called. Empty inputs are refused as OpenAI refuses them.
 */
export function checkEmbeddingsInput(body: EmbeddingsBody, limits: EmbeddingsLimits): EmbeddingsInput {
  const input = toInput(body.input);
  const items = input.kind === "texts" ? input.texts : input.tokens;
  if (items.length === 0) invalid("input holds no inputs");
  if (items.length > limits.embeddingsMaxInputs) {
    invalid(`input holds ${items.length} inputs; at most ${limits.embeddingsMaxInputs} are allowed`);
  }
  for (const [index, item] of items.entries()) {
    if (item.length === 0) invalid(`input[${index}] is empty`);
    if (input.kind === "texts" && item.length > limits.maxMessageChars) {
      invalid(
        `input[${index}] holds ${item.length} characters; at most ${limits.maxMessageChars} are allowed`,
      );
    }
  }
  return input;
}

function toInput(input: EmbeddingsBody["input"]): EmbeddingsInput {
  if (typeof input === "string") return { kind: "texts", texts: [input] };
  // The schema allows one shape per array; an empty array is refused by the caller as empty.
  const first = input[0];
  if (first === undefined || typeof first === "string") {
    return { kind: "texts", texts: input as readonly string[] };
  }
  if (typeof first === "number") return { kind: "tokens", tokens: [input as readonly number[]] };
  return { kind: "tokens", tokens: input as readonly (readonly number[])[] };
}

function invalid(message: string): never {
  throw new ServiceError({ code: "VALIDATION_FAILED", message, param: "input" });
}
