/** The collection a document belongs to when its ingest names none. */
export const DEFAULT_COLLECTION = "default";

/** What a collection may be called: short, and safe in a URL, a log line and a label. */
export const COLLECTION_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$";

/** A document as the knowledge store keeps it. */
export type StoredDocument = {
  id: string;
  /** The named collection it belongs to; searches and grounding look in one collection. */
  collection: string;
  source: string;
  /** The document's own title (an HTML page's, a PDF's), when it has one. */
  title?: string;
  contentType: string;
  bytes: number;
  characters: number;
  chunks: number;
  /** `writing` while its chunks are being stored; only `ready` documents are searched. */
  state: "writing" | "ready";
  jobId: string;
  createdAt: number;
  /** The model its chunks' vectors come from (`EMBEDDINGS_MODEL`); absent when they have none. */
  embeddingModel?: string;
  /**
   * The virtual key whose ingest wrote it (its id); absent for no owner: the admin key, `API_KEYS`
   * keys, open mode, and documents stored before documents had owners.
   */
  owner?: string;
};

export type NewDocument = Omit<StoredDocument, "chunks" | "state" | "createdAt">;

/**
 * A chunk to store: its text, for a paged document (PDF) the page it comes from (from 1), and its
 * L2-normalised vector when the document is embedded (`NewDocument.embeddingModel`).
 */
export type NewChunk = { text: string; page?: number; embedding?: readonly number[] };

/** A stored chunk's text, as re-embedding reads it. */
export type ChunkText = { chunkIndex: number; text: string };

export type VectorSearchOptions = SearchOptions & {
  /** Only vectors of this model are compared: another model's live in another space. */
  model: string;
};

/**
 * Whose documents a read sees: one owner's (a virtual key's id), those of no owner (`null`), or,
 * when undefined, everyone's (the admin key). Collections are per owner: key A's `default` and
 * key B's `default` are different sets of documents.
 */
export type OwnerFilter = { owner?: string | null };

export type SearchOptions = OwnerFilter & {
  limit?: number;
  /** The collection searched; `default` when absent. */
  collection?: string;
};

export type SourceOptions = OwnerFilter & {
  /** The collection looked in; `default` when absent. */
  collection?: string;
};

export type ListOptions = OwnerFilter & {
  limit: number;
  offset: number;
  /** Only this collection's documents; every collection's when absent. */
  collection?: string;
  /** Only documents of these collections (a key limited to collections); no limit when absent. */
  collections?: readonly string[];
};

export type SearchHit = {
  documentId: string;
  source: string;
  title?: string;
  chunkIndex: number;
  /** The page the chunk comes from, for a paged document (PDF). */
  page?: number;
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
  appendChunks(documentId: string, firstIndex: number, chunks: readonly NewChunk[]): Promise<void>;
  /**
   * Makes the document searchable and removes older documents of the same source in the same
   * collection of the same owner, atomically: another owner's document of that source stays.
   */
  publishDocument(documentId: string): Promise<StoredDocument>;
  /** The document, when it exists and the filter's owner may see it. */
  getDocument(id: string, filter?: OwnerFilter): Promise<StoredDocument | undefined>;
  /** Ready documents of a source in a collection (at most one per owner once publishing is done). */
  documentsForSource(source: string, options?: SourceOptions): Promise<StoredDocument[]>;
  /** Every document (of one collection, when named), ready or still being written, newest first. */
  listDocuments(options: ListOptions): Promise<DocumentPage>;
  /** Removes a document and its chunks; false when there was no such document the filter's owner may see. */
  deleteDocument(id: string, filter?: OwnerFilter): Promise<boolean>;
  /**
   * Chunks of ready documents of one collection that hold any of the query's words, best first: at most
   * MAX_QUERY_TERMS words count and at most MAX_SEARCH_RESULTS hits come back. A search that runs
   * past the store's time budget (`SEARCH_TIMEOUT_MS`) is stopped and rejects with SEARCH_TIMEOUT.
   */
  search(query: string, options?: SearchOptions): Promise<SearchHit[]>;
  /**
   * Chunks of ready documents of one collection embedded with `options.model`, by exact cosine
   * similarity to `vector` (normalised), best first; at most MAX_SEARCH_RESULTS. The snippet is
   * the chunk's start: a vector match has no matched words to mark.
   */
  searchByVector(vector: readonly number[], options: VectorSearchOptions): Promise<SearchHit[]>;
  /** Ready documents whose chunks have no vectors of `model` (none yet, or another model's), oldest first. */
  documentsToEmbed(model: string, limit: number): Promise<StoredDocument[]>;
  chunkTexts(documentId: string, firstIndex: number, limit: number): Promise<ChunkText[]>;
  /** Replaces the vectors of chunks `firstIndex...` of a document. */
  storeEmbeddings(
    documentId: string,
    firstIndex: number,
    vectors: readonly (readonly number[])[],
  ): Promise<void>;
  /** Records that every chunk of the document now has a vector of `model`, so searches use them. */
  markEmbedded(documentId: string, model: string): Promise<void>;
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
