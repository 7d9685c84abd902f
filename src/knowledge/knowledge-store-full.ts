import { ServiceError } from "../errors/service-error.ts";

/** A write refused because the store holds `KNOWLEDGE_MAX_BYTES` of text already. */
export function knowledgeStoreFull(maxBytes: number): ServiceError {
  return new ServiceError({
    code: "KNOWLEDGE_STORE_FULL",
    message: `The knowledge base is full: it holds at most ${maxBytes} bytes of text (KNOWLEDGE_MAX_BYTES). Delete documents to make room.`,
  });
}
