/** A document as the knowledge store keeps it. */
export type StoredDocument = {
  id: string;
  source: string;
  contentType: string;
  bytes: number;
  characters: number;
  chunks: number;
  /** `writing` while its chunks are being stored; only `ready` documents are searched. */
  state: "writing" | "ready";
  jobId: string;
  createdAt: number;
};

export type NewDocument = Omit<StoredDocument, "chunks" | "state" | "createdAt">;

export type SearchHit = {
  documentId: string;
  source: string;
  chunkIndex: number;
  text: string;
  /** The best-matching passage of the chunk, matched words between `**`. */
  snippet: string;
  /** Higher is more relevant; comparable only within one store. */
  score: number;
};

export type DocumentPage = { documents: StoredDocument[]; total: number };

/** Words of a query that count; a question rarely has more, and each one costs a pass over its postings. */
export const MAX_QUERY_TERMS = 16;

/** Hits one search answers at most, whatever the caller asks for. */
export const MAX_SEARCH_RESULTS = 50;

/** The number of hits to look for: the caller's limit (5 when absent) within 1..MAX_SEARCH_RESULTS. */
export function searchLimit(limit: number | undefined): number {
  return Math.min(MAX_SEARCH_RESULTS, Math.max(1, Math.trunc(limit ?? 5)));
}

/** Matched words in snippets are wrapped in this, the same in every store (Markdown bold). */
export const SNIPPET_MARK = "**";

/**
 * Where ingested documents live, chunked and searchable. SQLite FTS5 by default, PostgreSQL full
 * text search when DATABASE_URL is set; both pass test/knowledge/knowledge-store-conformance.ts.
 * A document is written in three steps so a large one can report progress and a crash leaves
 * nothing searchable: begin, append chunks, publish.
 */
export type KnowledgeStore = {
  readonly kind: "sqlite" | "postgres";
  /** Starts (or restarts, dropping any partial write) the document with this id. */
  beginDocument(document: NewDocument): Promise<void>;
  appendChunks(documentId: string, firstIndex: number, chunks: readonly string[]): Promise<void>;
  /** Makes the document searchable and removes older documents of the same source, atomically. */
  publishDocument(documentId: string): Promise<StoredDocument>;
  getDocument(id: string): Promise<StoredDocument | undefined>;
  /** Ready documents of a source (at most one once publishing is done). */
  documentsForSource(source: string): Promise<StoredDocument[]>;
  /** Every document, ready or still being written, newest first. */
  listDocuments(options: { limit: number; offset: number }): Promise<DocumentPage>;
  /** Removes a document and its chunks; false when there was no such document. */
  deleteDocument(id: string): Promise<boolean>;
  /**
   * Chunks of ready documents that hold any of the query's words, best first: at most
   * MAX_QUERY_TERMS words count and at most MAX_SEARCH_RESULTS hits come back. A search that runs
   * past the store's time budget (`SEARCH_TIMEOUT_MS`) is stopped and rejects with SEARCH_TIMEOUT.
   */
  search(query: string, options?: { limit?: number }): Promise<SearchHit[]>;
  /**
   * Bytes of chunk text stored, documents being written included: what `KNOWLEDGE_MAX_BYTES`
   * caps. A batch of `appendChunks` that would pass the cap rejects with KNOWLEDGE_STORE_FULL and
   * writes nothing.
   */
  storedBytes(): Promise<number>;
  ping(): Promise<void>;
  close(): Promise<void>;
};

/**
 * English words too common to say what a question is about. PostgreSQL's `english` configuration
 * drops such words itself; SQLite FTS5 does not, and without this list "When does the office
 * open?" would match every chunk that says "the".
 */
const STOP_WORDS = new Set(
  (
    "a an and are as at be been but by can could did do does doing for from had has have how i if in " +
    "into is it its me my of on or our so than that the their them then there these they this those " +
    "to us was we were what when where which who whom why will with would you your"
  ).split(" "),
);

/** The words of a free-text query, for stores that need them quoted (no operators get through). */
export function queryTerms(query: string): string[] {
  const words = query.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  return [...new Set(words)].filter((word) => !STOP_WORDS.has(word)).slice(0, MAX_QUERY_TERMS);
}
