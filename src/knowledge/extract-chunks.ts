import type { ChunkOptions } from "./chunk-text.ts";
import { WorkerPool } from "./worker-pool.ts";

/** A document's text, cut into chunks. */
export type ExtractedChunks = { characters: number; chunks: string[] };

/** Threads for extraction: enough to keep ingests moving on a small machine, not to crowd searches. */
const THREADS = 2;

let pool: WorkerPool | undefined;

/**
 * `extractText` then `chunkText`, in a worker thread: on a 10 MiB document each takes the CPU for
 * hundreds of milliseconds, which on the event loop would hold every request. The threads are
 * shared by the process, started on first use, unreferenced (they never keep it alive) and ended
 * when idle. A SourceError from extraction arrives as a SourceError.
 */
export function extractChunks(
  body: Buffer,
  contentType: string,
  options: ChunkOptions,
): Promise<ExtractedChunks> {
  pool ??= new WorkerPool({
    url: new URL("./extract-chunks-worker.ts", import.meta.url),
    size: THREADS,
    unref: true,
    idleTimeoutMs: 10_000,
  });
  return pool.run("extractChunks", [body, contentType, options]);
}
