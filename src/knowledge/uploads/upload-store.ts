import type { Readable } from "node:stream";

/** An uploaded file as its job reads it back. */
export type StoredUpload = { body: Buffer; bytes: number };

/**
 * Where an uploaded file's bytes wait for their ingest job: files in `DATA_DIR/uploads` by
 * default, rows in PostgreSQL with DATABASE_URL, so a worker on another machine can read them.
 * Deleted once their job is done with them.
 */
export type UploadStore = {
  readonly kind: "files" | "postgres";
  /**
   * Writes the stream as it arrives, never holding more than a part of it in memory. A stream that
   * fails (the upload is over its limit, the client went away) leaves nothing behind and rejects
   * with the stream's error.
   */
  save(id: string, stream: Readable): Promise<{ bytes: number }>;
  /** The upload's bytes; undefined when it is gone (its job already finished with it). */
  read(id: string): Promise<StoredUpload | undefined>;
  delete(id: string): Promise<void>;
  close(): Promise<void>;
};

/** Upload ids are made by the service; anything else never reaches a path or a query. */
export const UPLOAD_ID_PATTERN = /^upl_[0-9a-f-]{36}$/;
