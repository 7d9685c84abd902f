import type { GroundingSource } from "../../knowledge/ground-chat-input.ts";

/** A knowledge chunk the reply was grounded on, as `/chat` and `/chat/stream` name it. */
export function sourceBody(source: GroundingSource) {
  return {
    document_id: source.documentId,
    source: source.source,
    chunk_index: source.chunkIndex,
    score: source.score,
  };
}
