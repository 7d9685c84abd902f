// A worker thread of extractChunks: extraction and chunking, one document at a time.
import { chunkText } from "./chunk-text.ts";
import type { ExtractChunksOptions, ExtractedChunks } from "./extract-chunks.ts";
import { extractText } from "./extract-text.ts";
import type { TypeHints } from "./formats/detect-document-type.ts";
import { MEDIA_TYPES } from "./formats/extracted-document.ts";
import type { NewChunk } from "./knowledge-store.ts";
import { serveWorkerRequests } from "./worker-protocol.ts";

serveWorkerRequests({
  async extractChunks(
    body: Uint8Array,
    hints: TypeHints,
    options: Omit<ExtractChunksOptions, "timeoutMs">,
  ): Promise<ExtractedChunks> {
    // A Buffer arrives as a plain Uint8Array; view it as a Buffer again, without a copy.
    const document = await extractText(
      Buffer.from(body.buffer, body.byteOffset, body.byteLength),
      hints,
      options,
    );
    const chunks: NewChunk[] = [];
    let characters = 0;
    // Each page is chunked apart, so every chunk belongs to one page and a citation can name it.
    for (const section of document.sections) {
      characters += section.text.length;
      for (const text of chunkText(section.text, options)) {
        chunks.push(section.page === undefined ? { text } : { text, page: section.page });
      }
    }
    return {
      type: document.type,
      contentType: MEDIA_TYPES[document.type],
      ...(document.title === undefined ? {} : { title: document.title }),
      characters,
      chunks,
    };
  },
});
