import type { DatabaseSync } from "node:sqlite";
import { getLoadablePath } from "sqlite-vec";
import { inTransaction, openSqliteDatabase } from "../../storage/open-sqlite-database.ts";
import {
  type ChunkText,
  DEFAULT_COLLECTION,
  type DocumentPage,
  type ListOptions,
  type NewChunk,
  type NewDocument,
  type OwnerFilter,
  queryTerms,
  type SearchHit,
  type SearchOptions,
  SNIPPET_MARK,
  type SourceOptions,
  type StoredDocument,
  searchLimit,
  type VectorSearchOptions,
} from "../knowledge-store.ts";
import { knowledgeStoreFull } from "../knowledge-store-full.ts";
import { vectorSnippet } from "../vector-snippet.ts";
import { type ChunkHitRow, searchHitFromRow } from "./chunk-hit-row.ts";

/** Words of context around the matches in a snippet. */
const SNIPPET_TOKENS = 24;

type DocumentRow = {
  id: string;
  collection: string;
  source: string;
  title: string | null;
  content_type: string;
  bytes: number;
  characters: number;
  chunk_count: number;
  state: "writing" | "ready";
  job_id: string;
  created_at: number;
  embedding_model: string | null;
  owner: string | null;
};

export type SqliteKnowledgeDatabaseOptions = {
  file: string;
  /** Bytes of chunk text the whole store may hold (`KNOWLEDGE_MAX_BYTES`); unbounded when absent. */
  maxBytes?: number;
};

/**
 * The embedded knowledge store's queries: documents and chunks in SQLite, searched with FTS5
 * (BM25). Synchronous, as `node:sqlite` is: it runs in worker threads (sqlite-knowledge-worker.ts),
 * each with its own connection, behind the asynchronous SqliteKnowledgeStore.
 */
export class SqliteKnowledgeDatabase {
  readonly #database: DatabaseSync;
  readonly #maxBytes: number;
  /** Why sqlite-vec could not be loaded, when it could not: vector searches then fail with it. */
  readonly #vectorProblem: string | undefined;

  constructor(options: SqliteKnowledgeDatabaseOptions) {
    this.#maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
    this.#database = openSqliteDatabase(options.file, { allowExtension: true });
    // sqlite-vec ranks vectors by exact cosine distance inside SQLite; full-text search needs it not.
    try {
      this.#database.loadExtension(getLoadablePath());
    } catch (error) {
      this.#vectorProblem = `sqlite-vec could not be loaded: ${(error as Error).message}`;
    }
    // Called once per matching row: a query that runs past its budget re-enters JavaScript here,
    // where terminating its thread takes effect, instead of running to its end in native code.
    this.#database.function("js_checkpoint", { deterministic: false }, () => 1);
    this.#database.exec(`
      CREATE TABLE IF NOT EXISTS documents (
        id TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        content_type TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        characters INTEGER NOT NULL,
        chunk_count INTEGER NOT NULL DEFAULT 0,
        text_bytes INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL,
        job_id TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS documents_by_source ON documents (source, state);
      CREATE TABLE IF NOT EXISTS chunks (
        id INTEGER PRIMARY KEY,
        document_id TEXT NOT NULL,
        chunk_index INTEGER NOT NULL,
        text TEXT NOT NULL,
        UNIQUE (document_id, chunk_index)
      );
      CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
        text, content = 'chunks', content_rowid = 'id', tokenize = 'porter unicode61'
      );
      CREATE TRIGGER IF NOT EXISTS chunks_indexed AFTER INSERT ON chunks BEGIN
        INSERT INTO chunks_fts (rowid, text) VALUES (new.id, new.text);
      END;
      CREATE TRIGGER IF NOT EXISTS chunks_unindexed AFTER DELETE ON chunks BEGIN
        INSERT INTO chunks_fts (chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
      END;
    `);
    this.#addTextBytes();
    // Collections, titles and pages came later: files from before get the columns once.
    this.#addColumn("documents", "collection", `TEXT NOT NULL DEFAULT '${DEFAULT_COLLECTION}'`);
    this.#addColumn("documents", "title", "TEXT");
    this.#addColumn("chunks", "page", "INTEGER");
    // Vectors as float32 blobs, the form sqlite-vec reads; the model they come from per document.
    this.#addColumn("chunks", "embedding", "BLOB");
    this.#addColumn("documents", "embedding_model", "TEXT");
    // Owners came with virtual keys owning what they create; older documents have none (NULL).
    this.#addColumn("documents", "owner", "TEXT");
    this.#database.exec(
      "CREATE INDEX IF NOT EXISTS documents_by_collection ON documents (collection, source, state)",
    );
  }

  #addColumn(table: string, column: string, definition: string): void {
    const columns = this.#database.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[];
    if (columns.some((existing) => existing.name === column)) return;
    this.#database.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
  }

  /** Files written before the store had a quota learn their documents' sizes once. */
  #addTextBytes(): void {
    const columns = this.#database.prepare("PRAGMA table_info(documents)").all() as { name: string }[];
    if (columns.some((column) => column.name === "text_bytes")) return;
    inTransaction(this.#database, () => {
      this.#database.exec(`
        ALTER TABLE documents ADD COLUMN text_bytes INTEGER NOT NULL DEFAULT 0;
        UPDATE documents SET text_bytes = (
          SELECT coalesce(sum(length(CAST(text AS BLOB))), 0) FROM chunks WHERE document_id = documents.id
        );
      `);
    });
  }

  beginDocument(document: NewDocument): void {
    inTransaction(this.#database, () => {
      this.#removeDocument(document.id);
      this.#database
        .prepare(
          `INSERT INTO documents (id, collection, source, title, content_type, bytes, characters, state, job_id,
             created_at, embedding_model, owner)
           VALUES (?, ?, ?, ?, ?, ?, ?, 'writing', ?, ?, ?, ?)`,
        )
        .run(
          document.id,
          document.collection,
          document.source,
          document.title ?? null,
          document.contentType,
          document.bytes,
          document.characters,
          document.jobId,
          Date.now(),
          document.embeddingModel ?? null,
          document.owner ?? null,
        );
    });
  }

  appendChunks(documentId: string, firstIndex: number, chunks: readonly NewChunk[]): void {
    inTransaction(this.#database, () => {
      // Written again after a retry: the same index replaces, so a chunk is never stored twice.
      // (An explicit DELETE, because REPLACE would skip the trigger that unindexes the old text.)
      const remove = this.#database.prepare(
        "DELETE FROM chunks WHERE document_id = ? AND chunk_index = ? RETURNING length(CAST(text AS BLOB)) AS bytes",
      );
      const insert = this.#database.prepare(
        "INSERT INTO chunks (document_id, chunk_index, text, page, embedding) VALUES (?, ?, ?, ?, ?)",
      );
      let addedBytes = 0;
      for (const [offset, { text, page, embedding }] of chunks.entries()) {
        const removed = remove.get(documentId, firstIndex + offset) as { bytes: number } | undefined;
        insert.run(documentId, firstIndex + offset, text, page ?? null, vectorBlob(embedding));
        addedBytes += Buffer.byteLength(text) - (removed?.bytes ?? 0);
      }
      // Checked inside the transaction, so the batch that would pass the cap is rolled back whole.
      if (addedBytes > 0 && this.storedBytes() + addedBytes > this.#maxBytes) {
        throw knowledgeStoreFull(this.#maxBytes);
      }
      this.#database
        .prepare("UPDATE documents SET text_bytes = text_bytes + ? WHERE id = ?")
        .run(addedBytes, documentId);
    });
  }

  /** Bytes of chunk text in the store, documents being written included. */
  storedBytes(): number {
    const { bytes } = this.#database
      .prepare("SELECT coalesce(sum(text_bytes), 0) AS bytes FROM documents")
      .get() as { bytes: number };
    return bytes;
  }

  publishDocument(documentId: string): StoredDocument {
    return inTransaction(this.#database, () => {
      const row = this.#row(documentId);
      if (!row) throw new Error(`document ${documentId} was not begun`);
      // Only the same owner's: another key's document of the same source is its own, and stays.
      const older = this.#database
        .prepare("SELECT id FROM documents WHERE collection = ? AND source = ? AND owner IS ? AND id != ?")
        .all(row.collection, row.source, row.owner, documentId) as { id: string }[];
      for (const { id } of older) this.#removeDocument(id);
      this.#database
        .prepare(
          `UPDATE documents SET state = 'ready',
             chunk_count = (SELECT count(*) FROM chunks WHERE document_id = ?) WHERE id = ?`,
        )
        .run(documentId, documentId);
      return toDocument(this.#row(documentId)!);
    });
  }

  getDocument(id: string, filter: OwnerFilter = {}): StoredDocument | undefined {
    const row = this.#row(id);
    return row && ownerMatches(row, filter) ? toDocument(row) : undefined;
  }

  documentsForSource(source: string, options: SourceOptions = {}): StoredDocument[] {
    const rows = this.#database
      .prepare(
        `SELECT * FROM documents WHERE collection = ? AND source = ? AND state = 'ready' AND ${OWNER_CONDITION}
         ORDER BY created_at, id`,
      )
      .all(options.collection ?? DEFAULT_COLLECTION, source, ...ownerValues(options)) as DocumentRow[];
    return rows.map(toDocument);
  }

  listDocuments(options: ListOptions): DocumentPage {
    // A NULL filter is no filter: every collection when none is named, any when no list limits them.
    const where = `WHERE (?1 IS NULL OR collection = ?1)
      AND (?2 IS NULL OR collection IN (SELECT value FROM json_each(?2)))
      AND (?3 = 1 OR owner IS ?4)`;
    const filter = [
      options.collection ?? null,
      options.collections === undefined ? null : JSON.stringify(options.collections),
      ...ownerValues(options),
    ];
    const rows = this.#database
      .prepare(`SELECT * FROM documents ${where} ORDER BY created_at DESC, id LIMIT ?5 OFFSET ?6`)
      .all(...filter, options.limit, options.offset) as DocumentRow[];
    const { total } = this.#database
      .prepare(`SELECT count(*) AS total FROM documents ${where}`)
      .get(...filter) as { total: number };
    return { documents: rows.map(toDocument), total };
  }

  deleteDocument(id: string, filter: OwnerFilter = {}): boolean {
    return inTransaction(this.#database, () => {
      const row = this.#row(id);
      if (!row || !ownerMatches(row, filter)) return false;
      this.#removeDocument(id);
      return true;
    });
  }

  search(query: string, options: SearchOptions = {}): SearchHit[] {
    const terms = queryTerms(query);
    if (terms.length === 0) return [];
    // Each word quoted: FTS5 operators and syntax in the query are taken as plain words.
    const match = terms.map((term) => `"${term}"`).join(" OR ");
    const rows = this.#database
      .prepare(
        `SELECT chunks.document_id, chunks.chunk_index, chunks.text, chunks.page, documents.source,
                documents.title, bm25(chunks_fts) AS rank,
                snippet(chunks_fts, 0, ?, ?, '…', ?) AS snippet
         FROM chunks_fts
         JOIN chunks ON chunks.id = chunks_fts.rowid
         JOIN documents ON documents.id = chunks.document_id AND documents.state = 'ready'
           AND documents.collection = ? AND (? = 1 OR documents.owner IS ?)
         WHERE chunks_fts MATCH ? AND js_checkpoint()
         ORDER BY rank, chunks.document_id, chunks.chunk_index LIMIT ?`,
      )
      .all(
        SNIPPET_MARK,
        SNIPPET_MARK,
        SNIPPET_TOKENS,
        options.collection ?? DEFAULT_COLLECTION,
        ...ownerValues(options),
        match,
        searchLimit(options.limit),
      ) as (ChunkHitRow & { rank: number; snippet: string })[];
    // bm25() is lower for better matches; turn it into "higher is better".
    return rows.map((row) => searchHitFromRow(row, row.snippet, -row.rank));
  }

  searchByVector(vector: readonly number[], options: VectorSearchOptions): SearchHit[] {
    if (this.#vectorProblem !== undefined) throw new Error(this.#vectorProblem);
    const rows = this.#database
      .prepare(
        `SELECT chunks.document_id, chunks.chunk_index, chunks.text, chunks.page, documents.source,
                documents.title, vec_distance_cosine(chunks.embedding, ?) AS distance
         FROM chunks
         JOIN documents ON documents.id = chunks.document_id AND documents.state = 'ready'
           AND documents.collection = ? AND (? = 1 OR documents.owner IS ?) AND documents.embedding_model = ?
         WHERE chunks.embedding IS NOT NULL AND js_checkpoint()
         ORDER BY distance, chunks.document_id, chunks.chunk_index LIMIT ?`,
      )
      .all(
        vectorBlob(vector),
        options.collection ?? DEFAULT_COLLECTION,
        ...ownerValues(options),
        options.model,
        searchLimit(options.limit),
      ) as (ChunkHitRow & { distance: number })[];
    // Cosine similarity: 1 for the same direction, higher is better as in full-text hits.
    return rows.map((row) => searchHitFromRow(row, vectorSnippet(row.text), 1 - row.distance));
  }

  documentsToEmbed(model: string, limit: number): StoredDocument[] {
    const rows = this.#database
      .prepare(
        `SELECT * FROM documents WHERE state = 'ready' AND (embedding_model IS NULL OR embedding_model != ?)
         ORDER BY created_at, id LIMIT ?`,
      )
      .all(model, limit) as DocumentRow[];
    return rows.map(toDocument);
  }

  chunkTexts(documentId: string, firstIndex: number, limit: number): ChunkText[] {
    const rows = this.#database
      .prepare(
        `SELECT chunk_index, text FROM chunks WHERE document_id = ? AND chunk_index >= ?
         ORDER BY chunk_index LIMIT ?`,
      )
      .all(documentId, firstIndex, limit) as { chunk_index: number; text: string }[];
    return rows.map((row) => ({ chunkIndex: row.chunk_index, text: row.text }));
  }

  storeEmbeddings(documentId: string, firstIndex: number, vectors: readonly (readonly number[])[]): void {
    inTransaction(this.#database, () => {
      // Its vectors are of no one model until the last batch is in.
      this.#database.prepare("UPDATE documents SET embedding_model = NULL WHERE id = ?").run(documentId);
      const update = this.#database.prepare(
        "UPDATE chunks SET embedding = ? WHERE document_id = ? AND chunk_index = ?",
      );
      for (const [offset, vector] of vectors.entries()) {
        update.run(vectorBlob(vector), documentId, firstIndex + offset);
      }
    });
  }

  markEmbedded(documentId: string, model: string): void {
    this.#database.prepare("UPDATE documents SET embedding_model = ? WHERE id = ?").run(model, documentId);
  }

  ping(): void {
    this.#database.prepare("SELECT 1").get();
  }

  close(): void {
    if (this.#database.isOpen) this.#database.close();
  }

  #row(id: string): DocumentRow | undefined {
    return this.#database.prepare("SELECT * FROM documents WHERE id = ?").get(id) as DocumentRow | undefined;
  }

  #removeDocument(id: string): void {
    this.#database.prepare("DELETE FROM chunks WHERE document_id = ?").run(id);
    this.#database.prepare("DELETE FROM documents WHERE id = ?").run(id);
  }
}

/** `owner IS ?` is SQLite's NULL-safe equality: a null owner filter matches documents of no owner. */
const OWNER_CONDITION = "(? = 1 OR owner IS ?)";

/** The values of OWNER_CONDITION: 1 (match all) when the filter names no owner, the owner otherwise. */
function ownerValues(filter: OwnerFilter): [number, string | null] {
  return [filter.owner === undefined ? 1 : 0, filter.owner ?? null];
}

function ownerMatches(row: DocumentRow, filter: OwnerFilter): boolean {
  return filter.owner === undefined || row.owner === filter.owner;
}

/** A vector as sqlite-vec reads it: little-endian float32, in a blob. */
function vectorBlob(vector: readonly number[] | undefined): Uint8Array | null {
  if (vector === undefined) return null;
  return new Uint8Array(new Float32Array(vector).buffer);
}

function toDocument(row: DocumentRow): StoredDocument {
  return {
    id: row.id,
    collection: row.collection,
    source: row.source,
    ...(row.title === null ? {} : { title: row.title }),
    contentType: row.content_type,
    bytes: row.bytes,
    characters: row.characters,
    chunks: row.chunk_count,
    state: row.state,
    jobId: row.job_id,
    createdAt: row.created_at,
    ...(row.embedding_model === null ? {} : { embeddingModel: row.embedding_model }),
    ...(row.owner === null ? {} : { owner: row.owner }),
  };
}
