import type { NewChunk } from "../../src/knowledge/knowledge-store.ts";

/** Chunks without pages, from their texts, as most store tests write them. */
export function textChunks(texts: readonly string[]): NewChunk[] {
  return texts.map((text) => ({ text }));
}
