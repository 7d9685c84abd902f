import type { DatabaseSync } from "node:sqlite";
import { inTransaction, openSqliteDatabase } from "../../storage/open-sqlite-database.ts";
import {
  type DocumentPage,
  type KnowledgeStore,
  type NewDocument,
  queryTerms,
  type SearchHit,
  SNIPPET_MARK,
  type StoredDocument,
} from "../knowledge-store.ts";

/** Words of context around the matches in a snippet. */
const SNIPPET_TOKENS = 24;

type DocumentRow = {
  id: string;
  source: string;
  content_type: string;
  bytes: number;
  characters: number;
  chunk_count: number;
  state: "writing" | "ready";
  job_id: string;
  created_at: number;
};

/** The embedded knowledge store: documents and chunks in SQLite, searched with FTS5 (BM25). */
export class SqliteKnowledgeStore implements KnowledgeStore {
  readonly kind = "sqlite" as const;
  readonly #database: DatabaseSync;

  constructor(options: { file: string }) {
    this.#database = openSqliteDatabase(options.file);
    this.#database.exec(`
      CREATE TABLE IF NOT EXISTS documents (
        id TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        content_type TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        characters INTEGER NOT NULL,
        chunk_count INTEGER NOT NULL DEFAULT 0,
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
  }

  async beginDocument(document: NewDocument): Promise<void> {
    inTransaction(this.#database, () => {
      this.#removeDocument(document.id);
      this.#database
        .prepare(
          `INSERT INTO documents (id, source, content_type, bytes, characters, state, job_id, created_at)
           VALUES (?, ?, ?, ?, ?, 'writing', ?, ?)`,
        )
        .run(
          document.id,
          document.source,
          document.contentType,
          document.bytes,
          document.characters,
          document.jobId,
          Date.now(),
        );
    });
  }

  async appendChunks(documentId: string, firstIndex: number, chunks: readonly string[]): Promise<void> {
    inTransaction(this.#database, () => {
      // Written again after a retry: the same index replaces, so a chunk is never stored twice.
      // (An explicit DELETE, because REPLACE would skip the trigger that unindexes the old text.)
      const remove = this.#database.prepare("DELETE FROM chunks WHERE document_id = ? AND chunk_index = ?");
      const insert = this.#database.prepare(
        "INSERT INTO chunks (document_id, chunk_index, text) VALUES (?, ?, ?)",
      );
      for (const [offset, text] of chunks.entries()) {
        remove.run(documentId, firstIndex + offset);
        insert.run(documentId, firstIndex + offset, text);
      }
    });
  }

  async publishDocument(documentId: string): Promise<StoredDocument> {
    return inTransaction(this.#database, () => {
      const row = this.#row(documentId);
      if (!row) throw new Error(`document ${documentId} was not begun`);
      const older = this.#database
        .prepare("SELECT id FROM documents WHERE source = ? AND id != ?")
        .all(row.source, documentId) as { id: string }[];
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

  async getDocument(id: string): Promise<StoredDocument | undefined> {
    const row = this.#row(id);
    return row ? toDocument(row) : undefined;
  }

  async documentsForSource(source: string): Promise<StoredDocument[]> {
    const rows = this.#database
      .prepare("SELECT * FROM documents WHERE source = ? AND state = 'ready' ORDER BY created_at")
      .all(source) as DocumentRow[];
    return rows.map(toDocument);
  }

  async listDocuments(options: { limit: number; offset: number }): Promise<DocumentPage> {
    const rows = this.#database
      .prepare("SELECT * FROM documents ORDER BY created_at DESC, id LIMIT ? OFFSET ?")
      .all(options.limit, options.offset) as DocumentRow[];
    const { total } = this.#database.prepare("SELECT count(*) AS total FROM documents").get() as {
      total: number;
    };
    return { documents: rows.map(toDocument), total };
  }

  async deleteDocument(id: string): Promise<boolean> {
    return inTransaction(this.#database, () => {
      if (!this.#row(id)) return false;
      this.#removeDocument(id);
      return true;
    });
  }

  async search(query: string, options: { limit?: number } = {}): Promise<SearchHit[]> {
    const terms = queryTerms(query);
    if (terms.length === 0) return [];
    // Each word quoted: FTS5 operators and syntax in the query are taken as plain words.
    const match = terms.map((term) => `"${term}"`).join(" OR ");
    const rows = this.#database
      .prepare(
        `SELECT chunks.document_id, chunks.chunk_index, chunks.text, documents.source,
                bm25(chunks_fts) AS rank,
                snippet(chunks_fts, 0, ?, ?, '…', ?) AS snippet
         FROM chunks_fts
         JOIN chunks ON chunks.id = chunks_fts.rowid
         JOIN documents ON documents.id = chunks.document_id AND documents.state = 'ready'
         WHERE chunks_fts MATCH ?
         ORDER BY rank, chunks.document_id, chunks.chunk_index LIMIT ?`,
      )
      .all(SNIPPET_MARK, SNIPPET_MARK, SNIPPET_TOKENS, match, options.limit ?? 5) as {
      document_id: string;
      chunk_index: number;
      text: string;
      source: string;
      rank: number;
      snippet: string;
    }[];
    return rows.map((row) => ({
      documentId: row.document_id,
      source: row.source,
      chunkIndex: row.chunk_index,
      text: row.text,
      snippet: row.snippet,
      // bm25() is lower for better matches; turn it into "higher is better".
      score: -row.rank,
    }));
  }

  async ping(): Promise<void> {
    this.#database.prepare("SELECT 1").get();
  }

  async close(): Promise<void> {
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

function toDocument(row: DocumentRow): StoredDocument {
  return {
    id: row.id,
    source: row.source,
    contentType: row.content_type,
    bytes: row.bytes,
    characters: row.characters,
    chunks: row.chunk_count,
    state: row.state,
    jobId: row.job_id,
    createdAt: row.created_at,
  };
}
