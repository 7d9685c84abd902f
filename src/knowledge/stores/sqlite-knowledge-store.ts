import type {
  ChunkText,
  DocumentPage,
  KnowledgeStore,
  ListOptions,
  NewChunk,
  NewDocument,
  OwnerFilter,
  SearchHit,
  SearchOptions,
  SourceOptions,
  StoredDocument,
  VectorSearchOptions,
} from "../knowledge-store.ts";
import { searchTimedOut } from "../search-timed-out.ts";
import { WorkerPool } from "../worker-pool.ts";
import { SqliteKnowledgeDatabase, type SqliteKnowledgeDatabaseOptions } from "./sqlite-knowledge-database.ts";

export type SqliteKnowledgeStoreOptions = SqliteKnowledgeDatabaseOptions & {
  /** A search's time budget, waiting for a thread included (`SEARCH_TIMEOUT_MS`). */
  searchTimeoutMs?: number;
  /** Threads that run searches; writes and lookups have a thread of their own. */
  searchThreads?: number;
};

const DEFAULT_SEARCH_TIMEOUT_MS = 3000;
const WORKER_URL = new URL("./sqlite-knowledge-worker.ts", import.meta.url);

/**
 * The embedded knowledge store: SQLite FTS5 in DATA_DIR, queried off the event loop. `node:sqlite`
 * is synchronous, so every query runs in a worker thread with its own connection to the file (WAL
 * lets readers and the writer go on together): one thread for writes and lookups, a few for
 * searches. A search past its budget has its thread terminated and replaced.
 */
export class SqliteKnowledgeStore implements KnowledgeStore {
  readonly kind = "sqlite" as const;
  readonly #writer: WorkerPool;
  readonly #searchers: WorkerPool;
  readonly #searchTimeoutMs: number;
  #closed = false;

  constructor(options: SqliteKnowledgeStoreOptions) {
    // Opened here once, synchronously, so a file that cannot be opened or migrated fails the
    // constructor (the service then starts without the store) and threads never race to create it.
    new SqliteKnowledgeDatabase(options).close();
    const workerData: SqliteKnowledgeDatabaseOptions = { file: options.file, maxBytes: options.maxBytes };
    this.#searchTimeoutMs = options.searchTimeoutMs ?? DEFAULT_SEARCH_TIMEOUT_MS;
    this.#writer = new WorkerPool({ url: WORKER_URL, size: 1, workerData });
    this.#searchers = new WorkerPool({
      url: WORKER_URL,
      size: options.searchThreads ?? 2,
      workerData,
      idleTimeoutMs: 60_000,
    });
  }

  beginDocument(document: NewDocument): Promise<void> {
    return this.#writer.run("beginDocument", [document]);
  }

  appendChunks(documentId: string, firstIndex: number, chunks: readonly NewChunk[]): Promise<void> {
    return this.#writer.run("appendChunks", [documentId, firstIndex, chunks]);
  }

  publishDocument(documentId: string): Promise<StoredDocument> {
    return this.#writer.run("publishDocument", [documentId]);
  }

  getDocument(id: string, filter: OwnerFilter = {}): Promise<StoredDocument | undefined> {
    return this.#writer.run("getDocument", [id, filter]);
  }

  documentsForSource(source: string, options: SourceOptions = {}): Promise<StoredDocument[]> {
    return this.#writer.run("documentsForSource", [source, options]);
  }

  listDocuments(options: ListOptions): Promise<DocumentPage> {
    return this.#writer.run("listDocuments", [options]);
  }

  deleteDocument(id: string, filter: OwnerFilter = {}): Promise<boolean> {
    return this.#writer.run("deleteDocument", [id, filter]);
  }

  search(query: string, options: SearchOptions = {}): Promise<SearchHit[]> {
    return this.#searchers.run("search", [query, options], {
      timeoutMs: this.#searchTimeoutMs,
      onTimeout: () => searchTimedOut(this.#searchTimeoutMs),
    });
  }

  searchByVector(vector: readonly number[], options: VectorSearchOptions): Promise<SearchHit[]> {
    return this.#searchers.run("searchByVector", [vector, options], {
      timeoutMs: this.#searchTimeoutMs,
      onTimeout: () => searchTimedOut(this.#searchTimeoutMs),
    });
  }

  documentsToEmbed(model: string, limit: number): Promise<StoredDocument[]> {
    return this.#writer.run("documentsToEmbed", [model, limit]);
  }

  chunkTexts(documentId: string, firstIndex: number, limit: number): Promise<ChunkText[]> {
    return this.#writer.run("chunkTexts", [documentId, firstIndex, limit]);
  }

  storeEmbeddings(
    documentId: string,
    firstIndex: number,
    vectors: readonly (readonly number[])[],
  ): Promise<void> {
    return this.#writer.run("storeEmbeddings", [documentId, firstIndex, vectors]);
  }

  markEmbedded(documentId: string, model: string): Promise<void> {
    return this.#writer.run("markEmbedded", [documentId, model]);
  }

  storedBytes(): Promise<number> {
    return this.#writer.run("storedBytes", []);
  }

  ping(): Promise<void> {
    return this.#writer.run("ping", []);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([this.#writer.close(), this.#searchers.close()]);
  }
}
