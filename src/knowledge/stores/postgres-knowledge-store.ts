import type pg from "pg";
import type { QueryResult, QueryResultRow } from "pg";
import { openPostgresPool, quoteIdentifier } from "../../storage/open-postgres-pool.ts";
import {
  type ChunkText,
  DEFAULT_COLLECTION,
  type DocumentPage,
  type KnowledgeStore,
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
import { searchTimedOut } from "../search-timed-out.ts";
import { vectorSnippet } from "../vector-snippet.ts";
import { type ChunkHitRow, searchHitFromRow } from "./chunk-hit-row.ts";

export type PostgresKnowledgeStoreOptions = {
  connectionString: string;
  /** Tables go in this schema (created when missing) instead of the connection's default. */
  schema?: string;
  /** Connections this process keeps open at most. */
  maxConnections?: number;
  /** How long to wait for a connection before a query (and so `ping`) fails. */
  connectionTimeoutMs?: number;
  /** Bytes of chunk text the whole store may hold (`KNOWLEDGE_MAX_BYTES`); unbounded when absent. */
  maxBytes?: number;
  /** A search's server-side time budget (`SEARCH_TIMEOUT_MS`), enforced with `statement_timeout`. */
  searchTimeoutMs?: number;
};

const DEFAULT_SEARCH_TIMEOUT_MS = 3000;
/** PostgreSQL's SQLSTATE for a statement cancelled by `statement_timeout`. */
const QUERY_CANCELED = "57014";

/** The text search configuration: English stemming, like the SQLite store's porter tokenizer. */
const TEXT_SEARCH_CONFIG = "english";

/**
 * Advisory lock keys, as (namespace, key) pairs so they cannot collide with each other: one for
 * the migrations, one per source for publishing.
 */
const MIGRATION_LOCK = [0x6b6e_6f77, 0] as const;
const SOURCE_LOCK_NAMESPACE = 0x6b6e_7372;
const SIZE_LOCK_NAMESPACE = 0x6b6e_737a;

/**
 * Each step runs once per database, in order, recorded in `knowledge_migrations`. Append new steps;
 * never edit one that has shipped.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE knowledge_documents (
     id text PRIMARY KEY,
     source text NOT NULL,
     content_type text NOT NULL,
     bytes bigint NOT NULL,
     characters bigint NOT NULL,
     chunk_count integer NOT NULL DEFAULT 0,
     state text NOT NULL CHECK (state IN ('writing', 'ready')),
     job_id text NOT NULL,
     created_at timestamptz NOT NULL DEFAULT clock_timestamp()
   );
   CREATE INDEX knowledge_documents_by_source ON knowledge_documents (source, state);
   CREATE INDEX knowledge_documents_by_age ON knowledge_documents (created_at DESC, id);
   CREATE TABLE knowledge_chunks (
     document_id text NOT NULL REFERENCES knowledge_documents (id) ON DELETE CASCADE,
     chunk_index integer NOT NULL,
     text text NOT NULL,
     search_vector tsvector GENERATED ALWAYS AS (to_tsvector('${TEXT_SEARCH_CONFIG}', text)) STORED,
     PRIMARY KEY (document_id, chunk_index)
   );
   CREATE INDEX knowledge_chunks_search ON knowledge_chunks USING gin (search_vector);`,
  // The store's size, kept per document so the KNOWLEDGE_MAX_BYTES check never scans the chunks.
  `ALTER TABLE knowledge_documents ADD COLUMN text_bytes bigint NOT NULL DEFAULT 0;
   UPDATE knowledge_documents SET text_bytes = (
     SELECT coalesce(sum(octet_length(text)), 0) FROM knowledge_chunks WHERE document_id = knowledge_documents.id
   );`,
  // Collections, document titles, and the page each chunk of a PDF comes from.
  `ALTER TABLE knowledge_documents ADD COLUMN collection text NOT NULL DEFAULT '${DEFAULT_COLLECTION}';
   ALTER TABLE knowledge_documents ADD COLUMN title text;
   ALTER TABLE knowledge_chunks ADD COLUMN page integer;
   CREATE INDEX knowledge_documents_by_collection ON knowledge_documents (collection, source, state);`,
  // Vectors for hybrid search, ranked by exact cosine in SQL (pgvector cannot be installed here),
  // and the model they come from, per document.
  // knowledge_dot is the dot product; a PL/pgSQL loop measured twice as fast as sum() over unnest().
  `ALTER TABLE knowledge_chunks ADD COLUMN embedding real[];
   ALTER TABLE knowledge_documents ADD COLUMN embedding_model text;
   CREATE FUNCTION knowledge_dot(a real[], b real[]) RETURNS float8
     LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
     DECLARE
       total float8 := 0;
     BEGIN
       IF array_length(a, 1) IS DISTINCT FROM array_length(b, 1) THEN RETURN NULL; END IF;
       FOR i IN 1 .. coalesce(array_length(a, 1), 0) LOOP
         total := total + a[i] * b[i];
       END LOOP;
       RETURN total;
     END $$;`,
  // The virtual key whose ingest wrote each document; documents from before have none (NULL).
  `ALTER TABLE knowledge_documents ADD COLUMN owner text;`,
];

type DocumentRow = {
  id: string;
  collection: string;
  source: string;
  title: string | null;
  content_type: string;
  bytes: string;
  characters: string;
  chunk_count: number;
  state: "writing" | "ready";
  job_id: string;
  created_at: Date;
  embedding_model: string | null;
  owner: string | null;
};

/**
 * The shared knowledge store: documents and chunks in PostgreSQL, searched with full-text search
 * (a generated `tsvector` column under a GIN index, ranked with `ts_rank`). Every replica may use
 * the same database; the tables are created on first use.
 */
export class PostgresKnowledgeStore implements KnowledgeStore {
  readonly kind = "postgres" as const;
  readonly #pool: pg.Pool;
  readonly #schema: string | undefined;
  readonly #maxBytes: number;
  readonly #searchTimeoutMs: number;
  #migrated: Promise<void> | undefined;

  constructor(options: PostgresKnowledgeStoreOptions) {
    this.#schema = options.schema;
    this.#maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
    this.#searchTimeoutMs = options.searchTimeoutMs ?? DEFAULT_SEARCH_TIMEOUT_MS;
    this.#pool = openPostgresPool({
      connectionString: options.connectionString,
      schema: options.schema,
      maxConnections: options.maxConnections ?? 10,
      connectionTimeoutMs: options.connectionTimeoutMs ?? 5000,
      applicationName: "llm-api-service",
    });
  }

  async beginDocument(document: NewDocument): Promise<void> {
    await this.#transaction(async (client) => {
      // The chunks of an earlier attempt go with it (ON DELETE CASCADE).
      await client.query("DELETE FROM knowledge_documents WHERE id = $1", [document.id]);
      await client.query(
        `INSERT INTO knowledge_documents (id, source, content_type, bytes, characters, state, job_id, collection, title,
           embedding_model, owner)
         VALUES ($1, $2, $3, $4, $5, 'writing', $6, $7, $8, $9, $10)`,
        [
          document.id,
          document.source,
          document.contentType,
          document.bytes,
          document.characters,
          document.jobId,
          document.collection,
          document.title ?? null,
          document.embeddingModel ?? null,
          document.owner ?? null,
        ],
      );
    });
  }

  async appendChunks(documentId: string, firstIndex: number, chunks: readonly NewChunk[]): Promise<void> {
    if (chunks.length === 0) return;
    await this.#transaction(async (client) => {
      // Writers take turns on the size check, so two batches cannot both fit the last room.
      await client.query("SELECT pg_advisory_xact_lock($1, 0)", [SIZE_LOCK_NAMESPACE]);
      const replaced = await client.query<{ bytes: string }>(
        `SELECT coalesce(sum(octet_length(text)), 0) AS bytes FROM knowledge_chunks
         WHERE document_id = $1 AND chunk_index >= $2 AND chunk_index < $2 + $3`,
        [documentId, firstIndex, chunks.length],
      );
      const addedBytes =
        chunks.reduce((sum, chunk) => sum + Buffer.byteLength(chunk.text), 0) -
        Number(replaced.rows[0].bytes);
      if (addedBytes > 0 && (await this.#storedBytes(client)) + addedBytes > this.#maxBytes) {
        throw knowledgeStoreFull(this.#maxBytes);
      }
      // Written again after a retry: the same index replaces, so a chunk is never stored twice.
      await client.query(
        `INSERT INTO knowledge_chunks (document_id, chunk_index, text, page, embedding)
         SELECT $1, $2::integer + ordinality::integer - 1, text, page,
                CASE WHEN embedding = '' THEN NULL ELSE embedding::real[] END
         FROM unnest($3::text[], $4::integer[], $5::text[]) WITH ORDINALITY AS batch (text, page, embedding, ordinality)
         ON CONFLICT (document_id, chunk_index) DO UPDATE
           SET text = excluded.text, page = excluded.page, embedding = excluded.embedding`,
        [
          documentId,
          firstIndex,
          chunks.map((chunk) => chunk.text),
          chunks.map((chunk) => chunk.page ?? null),
          // A two-dimensional array cannot be ragged, so each vector travels as its array literal.
          chunks.map((chunk) => (chunk.embedding === undefined ? "" : vectorLiteral(chunk.embedding))),
        ],
      );
      await client.query("UPDATE knowledge_documents SET text_bytes = text_bytes + $2 WHERE id = $1", [
        documentId,
        addedBytes,
      ]);
    });
  }

  async storedBytes(): Promise<number> {
    await this.#migrate();
    return this.#storedBytes(this.#pool);
  }

  async #storedBytes(client: pg.Pool | pg.PoolClient): Promise<number> {
    const result = await client.query<{ bytes: string }>(
      "SELECT coalesce(sum(text_bytes), 0) AS bytes FROM knowledge_documents",
    );
    return Number(result.rows[0].bytes);
  }

  async publishDocument(documentId: string): Promise<StoredDocument> {
    return this.#transaction(async (client) => {
      const found = await client.query<{ source: string; collection: string; owner: string | null }>(
        "SELECT source, collection, owner FROM knowledge_documents WHERE id = $1",
        [documentId],
      );
      if (found.rowCount === 0) throw new Error(`document ${documentId} was not begun`);
      const { source, collection, owner } = found.rows[0];
      // Two documents of one source published at once take turns, so exactly one survives
      // (without the lock each would delete the other's row and deadlock).
      await client.query("SELECT pg_advisory_xact_lock($1, hashtext($2))", [
        SOURCE_LOCK_NAMESPACE,
        JSON.stringify([owner, collection, source]),
      ]);
      const still = await client.query("SELECT 1 FROM knowledge_documents WHERE id = $1 FOR UPDATE", [
        documentId,
      ]);
      if (still.rowCount === 0) throw new Error(`document ${documentId} was removed while publishing`);
      // Only the same owner's: another key's document of the same source is its own, and stays.
      await client.query(
        `DELETE FROM knowledge_documents
         WHERE collection = $3 AND source = $1 AND owner IS NOT DISTINCT FROM $4 AND id <> $2`,
        [source, documentId, collection, owner],
      );
      const published = await client.query<DocumentRow>(
        `UPDATE knowledge_documents SET state = 'ready',
           chunk_count = (SELECT count(*) FROM knowledge_chunks WHERE document_id = $1)
         WHERE id = $1 RETURNING *`,
        [documentId],
      );
      return toDocument(published.rows[0]);
    });
  }

  async getDocument(id: string, filter: OwnerFilter = {}): Promise<StoredDocument | undefined> {
    await this.#migrate();
    const result = await this.#pool.query<DocumentRow>(
      `SELECT * FROM knowledge_documents WHERE id = $1 AND ${ownerCondition(2)}`,
      [id, ...ownerValues(filter)],
    );
    return result.rows[0] ? toDocument(result.rows[0]) : undefined;
  }

  async documentsForSource(source: string, options: SourceOptions = {}): Promise<StoredDocument[]> {
    await this.#migrate();
    const result = await this.#pool.query<DocumentRow>(
      `SELECT * FROM knowledge_documents WHERE collection = $2 AND source = $1 AND state = 'ready'
         AND ${ownerCondition(3)}
       ORDER BY created_at, id`,
      [source, options.collection ?? DEFAULT_COLLECTION, ...ownerValues(options)],
    );
    return result.rows.map(toDocument);
  }

  async listDocuments(options: ListOptions): Promise<DocumentPage> {
    await this.#migrate();
    // A NULL filter is no filter: every collection when none is named, any when no list limits them.
    const where = `WHERE ($1::text IS NULL OR collection = $1)
      AND ($2::text[] IS NULL OR collection = ANY ($2))
      AND ${ownerCondition(3)}`;
    const filter = [options.collection ?? null, options.collections ?? null, ...ownerValues(options)];
    const result = await this.#pool.query<DocumentRow & { total: string }>(
      `SELECT *, count(*) OVER () AS total FROM knowledge_documents ${where}
       ORDER BY created_at DESC, id LIMIT $5 OFFSET $6`,
      [...filter, options.limit, options.offset],
    );
    // A page past the end has no rows to carry the total; count apart only then.
    const total =
      result.rows.length > 0
        ? Number(result.rows[0].total)
        : Number(
            (
              await this.#pool.query<{ total: string }>(
                `SELECT count(*) AS total FROM knowledge_documents ${where}`,
                filter,
              )
            ).rows[0].total,
          );
    return { documents: result.rows.map(toDocument), total };
  }

  async deleteDocument(id: string, filter: OwnerFilter = {}): Promise<boolean> {
    await this.#migrate();
    const result = await this.#pool.query(
      `DELETE FROM knowledge_documents WHERE id = $1 AND ${ownerCondition(2)}`,
      [id, ...ownerValues(filter)],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async search(query: string, options: SearchOptions = {}): Promise<SearchHit[]> {
    // The query's words joined by `or`: like the SQLite store, a chunk needs any word, not all,
    // and ranking puts chunks with more of them first. Only letters and digits get through, so no
    // websearch syntax (quotes, `-`) comes from the user; `or` itself would read as an operator.
    const terms = queryTerms(query).filter((term) => term !== "or");
    if (terms.length === 0) return [];
    const rows = await this.#timedSearch((client) =>
      client.query<ChunkHitRow & { score: number; snippet: string }>(
        // Ranked and cut first, so ts_headline (slow: it re-parses the text) runs only on the page.
        `WITH query AS (SELECT websearch_to_tsquery($1::regconfig, $2) AS terms),
       best AS (
         SELECT chunks.document_id, chunks.chunk_index, chunks.text, chunks.page, documents.source,
                documents.title, ts_rank(chunks.search_vector, query.terms) AS score
         FROM query, knowledge_chunks AS chunks
         JOIN knowledge_documents AS documents
           ON documents.id = chunks.document_id AND documents.state = 'ready' AND documents.collection = $5
          AND ${ownerCondition(6, "documents.owner")}
         WHERE chunks.search_vector @@ query.terms
         ORDER BY score DESC, chunks.document_id, chunks.chunk_index
         LIMIT $3
       )
       SELECT best.*, ts_headline($1::regconfig, best.text, query.terms, $4) AS snippet
       FROM best, query
       ORDER BY best.score DESC, best.document_id, best.chunk_index`,
        [
          TEXT_SEARCH_CONFIG,
          terms.join(" or "),
          searchLimit(options.limit),
          `StartSel="${SNIPPET_MARK}", StopSel="${SNIPPET_MARK}", MinWords=12, MaxWords=30, MaxFragments=2, FragmentDelimiter=" … "`,
          options.collection ?? DEFAULT_COLLECTION,
          ...ownerValues(options),
        ],
      ),
    );
    return rows.map((row) => searchHitFromRow(row, row.snippet, row.score));
  }

  async searchByVector(vector: readonly number[], options: VectorSearchOptions): Promise<SearchHit[]> {
    const rows = await this.#timedSearch((client) =>
      client.query<ChunkHitRow & { score: number }>(
        // Both sides are normalised, so the dot product is the cosine: exact, over every vector.
        `SELECT chunks.document_id, chunks.chunk_index, chunks.text, chunks.page, documents.source, documents.title,
                knowledge_dot(chunks.embedding, $1::real[]) AS score
         FROM knowledge_chunks AS chunks
         JOIN knowledge_documents AS documents
           ON documents.id = chunks.document_id AND documents.state = 'ready'
          AND documents.collection = $2 AND documents.embedding_model = $3
          AND ${ownerCondition(5, "documents.owner")}
         WHERE chunks.embedding IS NOT NULL
         ORDER BY score DESC NULLS LAST, chunks.document_id, chunks.chunk_index
         LIMIT $4`,
        [
          vector,
          options.collection ?? DEFAULT_COLLECTION,
          options.model,
          searchLimit(options.limit),
          ...ownerValues(options),
        ],
      ),
    );
    return rows.map((row) => searchHitFromRow(row, vectorSnippet(row.text), Number(row.score)));
  }

  /**
   * Runs a search query under `SEARCH_TIMEOUT_MS`, set server-side so the database stops the work,
   * not just our wait for it; a query past it rejects with SEARCH_TIMEOUT.
   */
  async #timedSearch<Row extends QueryResultRow>(
    query: (client: pg.PoolClient) => Promise<QueryResult<Row>>,
  ): Promise<Row[]> {
    await this.#migrate();
    const result = await this.#inTransaction(async (client) => {
      await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.trunc(this.#searchTimeoutMs))}`);
      return query(client);
    }).catch((error: unknown) => {
      if ((error as { code?: unknown }).code === QUERY_CANCELED) throw searchTimedOut(this.#searchTimeoutMs);
      throw error;
    });
    return result.rows;
  }

  async documentsToEmbed(model: string, limit: number): Promise<StoredDocument[]> {
    await this.#migrate();
    const result = await this.#pool.query<DocumentRow>(
      `SELECT * FROM knowledge_documents WHERE state = 'ready' AND embedding_model IS DISTINCT FROM $1
       ORDER BY created_at, id LIMIT $2`,
      [model, limit],
    );
    return result.rows.map(toDocument);
  }

  async chunkTexts(documentId: string, firstIndex: number, limit: number): Promise<ChunkText[]> {
    await this.#migrate();
    const result = await this.#pool.query<{ chunk_index: number; text: string }>(
      `SELECT chunk_index, text FROM knowledge_chunks WHERE document_id = $1 AND chunk_index >= $2
       ORDER BY chunk_index LIMIT $3`,
      [documentId, firstIndex, limit],
    );
    return result.rows.map((row) => ({ chunkIndex: row.chunk_index, text: row.text }));
  }

  async storeEmbeddings(
    documentId: string,
    firstIndex: number,
    vectors: readonly (readonly number[])[],
  ): Promise<void> {
    await this.#transaction(async (client) => {
      // Its vectors are of no one model until the last batch is in.
      await client.query("UPDATE knowledge_documents SET embedding_model = NULL WHERE id = $1", [documentId]);
      await client.query(
        `UPDATE knowledge_chunks AS chunks SET embedding = batch.embedding::real[]
         FROM unnest($3::text[]) WITH ORDINALITY AS batch (embedding, ordinality)
         WHERE chunks.document_id = $1 AND chunks.chunk_index = $2::integer + batch.ordinality::integer - 1`,
        [documentId, firstIndex, vectors.map(vectorLiteral)],
      );
    });
  }

  async markEmbedded(documentId: string, model: string): Promise<void> {
    await this.#migrate();
    await this.#pool.query("UPDATE knowledge_documents SET embedding_model = $2 WHERE id = $1", [
      documentId,
      model,
    ]);
  }

  async ping(): Promise<void> {
    await this.#migrate();
    await this.#pool.query("SELECT 1");
  }

  async close(): Promise<void> {
    if (!this.#pool.ended) await this.#pool.end();
  }

  /** Creates the tables once per process; a failure is retried by the next call. */
  #migrate(): Promise<void> {
    this.#migrated ??= this.#runMigrations().catch((error: unknown) => {
      this.#migrated = undefined;
      throw error;
    });
    return this.#migrated;
  }

  #runMigrations(): Promise<void> {
    return this.#inTransaction(async (client) => {
      // Replicas starting together queue here: concurrent CREATE TABLE IF NOT EXISTS can still
      // fail on the catalog's unique index, and a step must not run twice.
      await client.query("SELECT pg_advisory_xact_lock($1, $2)", [...MIGRATION_LOCK]);
      if (this.#schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(this.#schema)}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS knowledge_migrations (
           version integer PRIMARY KEY,
           applied_at timestamptz NOT NULL DEFAULT now()
         )`,
      );
      const applied = await client.query<{ version: number }>(
        "SELECT coalesce(max(version), 0) AS version FROM knowledge_migrations",
      );
      for (let version = applied.rows[0].version + 1; version <= MIGRATIONS.length; version += 1) {
        await client.query(MIGRATIONS[version - 1]);
        await client.query("INSERT INTO knowledge_migrations (version) VALUES ($1)", [version]);
      }
    });
  }

  async #transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    await this.#migrate();
    return this.#inTransaction(work);
  }

  /** Runs `work` between BEGIN and COMMIT on one connection; any failure rolls back and is rethrown. */
  async #inTransaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    try {
      await client.query("BEGIN");
      const result = await work(client);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }
}

/**
 * The owner filter from parameter `$first` on: `$first` true matches every owner (the filter names
 * none), else `$first + 1` is compared NULL-safely, so a null filter matches documents of no owner.
 */
function ownerCondition(first: number, column = "owner"): string {
  return `($${first}::boolean OR ${column} IS NOT DISTINCT FROM $${first + 1}::text)`;
}

function ownerValues(filter: OwnerFilter): [boolean, string | null] {
  return [filter.owner === undefined, filter.owner ?? null];
}

/** A vector as PostgreSQL's array literal, `{0.1,0.2}`; finite numbers only reach here. */
function vectorLiteral(vector: readonly number[]): string {
  return `{${vector.join(",")}}`;
}

function toDocument(row: DocumentRow): StoredDocument {
  return {
    id: row.id,
    collection: row.collection,
    source: row.source,
    ...(row.title === null ? {} : { title: row.title }),
    contentType: row.content_type,
    // bigint columns arrive as strings, as they may exceed a JavaScript number in general.
    bytes: Number(row.bytes),
    characters: Number(row.characters),
    chunks: row.chunk_count,
    state: row.state,
    jobId: row.job_id,
    createdAt: row.created_at.getTime(),
    ...(row.embedding_model === null ? {} : { embeddingModel: row.embedding_model }),
    ...(row.owner === null ? {} : { owner: row.owner }),
  };
}
