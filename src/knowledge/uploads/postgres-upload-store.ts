import type { Readable } from "node:stream";
import type pg from "pg";
import { openPostgresPool, quoteIdentifier } from "../../storage/open-postgres-pool.ts";
import type { StoredUpload, UploadStore } from "./upload-store.ts";

/** Bytes per row: large enough to keep the rows few, small enough that a part is all we hold. */
const PART_BYTES = 512 * 1024;

export type PostgresUploadStoreOptions = {
  connectionString: string;
  /** Tables go in this schema (created when missing) instead of the connection's default. */
  schema?: string;
  maxConnections?: number;
};

/**
 * Uploads in PostgreSQL, as `bytea` parts of PART_BYTES, so a worker on another machine reads
 * what the API received. Parts are written as they arrive in one transaction: a failed upload
 * rolls back and leaves no row, and a job never sees half an upload.
 */
export class PostgresUploadStore implements UploadStore {
  readonly kind = "postgres" as const;
  readonly #pool: pg.Pool;
  readonly #schema: string | undefined;
  #ready: Promise<void> | undefined;

  constructor(options: PostgresUploadStoreOptions) {
    this.#schema = options.schema;
    this.#pool = openPostgresPool({
      connectionString: options.connectionString,
      schema: options.schema,
      maxConnections: options.maxConnections ?? 4,
      applicationName: "llm-api-service-uploads",
    });
  }

  async save(id: string, stream: Readable): Promise<{ bytes: number }> {
    await this.#createTable();
    const client = await this.#pool.connect();
    let bytes = 0;
    try {
      await client.query("BEGIN");
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      let part = 0;
      const flush = async (): Promise<void> => {
        if (pendingBytes === 0) return;
        const data = Buffer.concat(pending, pendingBytes);
        pending = [];
        pendingBytes = 0;
        await client.query("INSERT INTO knowledge_upload_parts (upload_id, part, data) VALUES ($1, $2, $3)", [
          id,
          part,
          data,
        ]);
        part += 1;
      };
      for await (const chunk of stream) {
        const buffer = chunk as Buffer;
        bytes += buffer.length;
        pending.push(buffer);
        pendingBytes += buffer.length;
        if (pendingBytes >= PART_BYTES) await flush();
      }
      await flush();
      await client.query("COMMIT");
      return { bytes };
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  async read(id: string): Promise<StoredUpload | undefined> {
    await this.#createTable();
    const result = await this.#pool.query<{ data: Buffer }>(
      "SELECT data FROM knowledge_upload_parts WHERE upload_id = $1 ORDER BY part",
      [id],
    );
    if (result.rows.length === 0) return undefined;
    const body = Buffer.concat(result.rows.map((row) => row.data));
    return { body, bytes: body.length };
  }

  async delete(id: string): Promise<void> {
    await this.#createTable();
    await this.#pool.query("DELETE FROM knowledge_upload_parts WHERE upload_id = $1", [id]);
  }

  async close(): Promise<void> {
    if (!this.#pool.ended) await this.#pool.end();
  }

  #createTable(): Promise<void> {
    this.#ready ??= this.#pool
      .query(
        `${this.#schema ? `CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(this.#schema)}; ` : ""}
         CREATE TABLE IF NOT EXISTS knowledge_upload_parts (
           upload_id text NOT NULL,
           part integer NOT NULL,
           data bytea NOT NULL,
           created_at timestamptz NOT NULL DEFAULT now(),
           PRIMARY KEY (upload_id, part)
         )`,
      )
      .then(
        () => {},
        (error: unknown) => {
          this.#ready = undefined;
          // Two processes creating the table at once: the loser's error is harmless.
          if ((error as { code?: string }).code === "23505") return;
          throw error;
        },
      );
    return this.#ready;
  }
}
