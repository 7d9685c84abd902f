import type { SearchHit } from "../knowledge-store.ts";

/** A matched chunk and its document as every store's search query selects them. */
export type ChunkHitRow = {
  document_id: string;
  chunk_index: number;
  text: string;
  page: number | null;
  source: string;
  title: string | null;
};

/** The hit a store answers for a matched chunk: only how each search scores and snips differs. */
export function searchHitFromRow(row: ChunkHitRow, snippet: string, score: number): SearchHit {
  return {
    documentId: row.document_id,
    source: row.source,
    ...(row.title === null ? {} : { title: row.title }),
    chunkIndex: row.chunk_index,
    ...(row.page === null ? {} : { page: row.page }),
    text: row.text,
    snippet,
    score,
  };
}
