// A worker thread of extractChunks: extraction and chunking, one document at a time.
import { type ChunkOptions, chunkText } from "./chunk-text.ts";
import type { ExtractedChunks } from "./extract-chunks.ts";
import { extractText } from "./extract-text.ts";
import { serveWorkerRequests } from "./worker-protocol.ts";

serveWorkerRequests({
  extractChunks(body: Uint8Array, contentType: string, options: ChunkOptions): ExtractedChunks {
    // A Buffer arrives as a plain Uint8Array; view it as a Buffer again, without a copy.
    const text = extractText(Buffer.from(body.buffer, body.byteOffset, body.byteLength), contentType);
    return { characters: text.length, chunks: text.length === 0 ? [] : chunkText(text, options) };
  },
});
