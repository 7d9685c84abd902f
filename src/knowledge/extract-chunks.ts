import type { ChunkOptions } from "./chunk-text.ts";
import type { TypeHints } from "./formats/detect-document-type.ts";
import type { DocumentType, ExtractionLimits } from "./formats/extracted-document.ts";
import type { NewChunk } from "./knowledge-store.ts";
import { SourceError } from "./source-error.ts";
import { WorkerPool } from "./worker-pool.ts";

/** A document's text, cut into chunks that keep their page. */
export type ExtractedChunks = {
  type: DocumentType;
  /** The media type of the kind detected, e.g. `application/pdf`. */
  contentType: string;
  title?: string;
  characters: number;
  chunks: NewChunk[];
};

export type ExtractChunksOptions = ChunkOptions &
  ExtractionLimits & {
    /** The whole extraction's time budget (`INGEST_EXTRACT_TIMEOUT_MS`); past it the thread is ended. */
    timeoutMs: number;
  };

/** Threads for extraction: enough to keep ingests moving on a small machine, not to crowd searches. */
const THREADS = 2;
/**
 * The heap an extraction thread may use. A file that lies about what it unpacks to, or a PDF built
 * to exhaust its parser, ends its own thread here instead of the process.
 */
const THREAD_HEAP_MB = 512;

let pool: WorkerPool | undefined;

/**
 * `extractText` then `chunkText`, in a worker thread: on a 10 MiB document each takes the CPU for
 * hundreds of milliseconds, which on the event loop would hold every request, and a hostile file
 * must not take the process down with it. The threads are shared by the process, started on first
 * use, unreferenced (they never keep it alive) and ended when idle. A SourceError from extraction
 * arrives as a SourceError; running out of time or memory is one too.
 */
export async function extractChunks(
  body: Buffer,
  hints: TypeHints,
  options: ExtractChunksOptions,
): Promise<ExtractedChunks> {
  pool ??= new WorkerPool({
    url: new URL("./extract-chunks-worker.ts", import.meta.url),
    size: THREADS,
    unref: true,
    idleTimeoutMs: 10_000,
    resourceLimits: { maxOldGenerationSizeMb: THREAD_HEAP_MB },
  });
  const { timeoutMs, ...extraction } = options;
  try {
    return await pool.run<ExtractedChunks>("extractChunks", [body, hints, extraction], {
      timeoutMs,
      onTimeout: () =>
        new SourceError({
          code: "SOURCE_EXTRACTION_TIMEOUT",
          message: `Reading the document's text took longer than ${timeoutMs} ms; stopped.`,
        }),
    });
  } catch (error) {
    if ((error as { code?: unknown }).code === "ERR_WORKER_OUT_OF_MEMORY") {
      throw new SourceError({
        code: "SOURCE_TOO_LARGE",
        message: "Reading the document's text needed more memory than an extraction may use; stopped.",
        cause: error,
      });
    }
    throw error;
  }
}
