import type { StoredDocument } from "./knowledge-store.ts";

/** What a client is told about a stored document, in the API's field names. */
export type DocumentSummary = {
  document_id: string;
  collection: string;
  source: string;
  title?: string;
  content_type: string;
  bytes: number;
  characters: number;
  chunks: number;
};

/**
 * A completed ingest job's result and the start of each `GET /knowledge/documents` entry: both
 * describe the same document, so they name its fields the same way.
 */
export function documentSummary(document: StoredDocument): DocumentSummary {
  return {
    document_id: document.id,
    collection: document.collection,
    source: document.source,
    ...(document.title === undefined ? {} : { title: document.title }),
    content_type: document.contentType,
    bytes: document.bytes,
    characters: document.characters,
    chunks: document.chunks,
  };
}
