import type { GroundingSource } from "../../knowledge/ground-chat-input.ts";

/** A knowledge chunk the reply was grounded on, as `/chat` and `/chat/stream` name it. */
export function sourceBody(source: GroundingSource) {
  return {
    id: source.id,
    document_id: source.documentId,
    source: source.source,
    ...(source.title === undefined ? {} : { title: source.title }),
    chunk_index: source.chunkIndex,
    ...(source.page === undefined ? {} : { page: source.page }),
    score: source.score,
  };
}
