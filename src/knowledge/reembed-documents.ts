import type { TextEmbedder } from "../llm/text-embedder.ts";
import type { KnowledgeStore } from "./knowledge-store.ts";

export type ReembedOptions = {
  store: KnowledgeStore;
  embedder: TextEmbedder;
  /** Chunks embedded per call. */
  batchSize: number;
  signal: AbortSignal;
  /** Documents done so far of those found at the start. */
  onProgress: (done: number, total: number) => Promise<void>;
};

/** Documents looked at per pass; the passes go on until none is left. */
const DOCUMENTS_PER_PASS = 100;

/**
 * Gives every ready document vectors of the embedder's model: those ingested before an embedding
 * model was configured, and those of another model after `EMBEDDINGS_MODEL` changed. A document
 * is searched by its vectors only once all of its chunks have new ones (`markEmbedded`), so a
 * search never compares vectors of two models; until then full-text search still finds it.
 * Answers how many documents were embedded.
 */
export async function reembedDocuments(
  options: ReembedOptions,
): Promise<{ documents: number; chunks: number }> {
  const { store, embedder, batchSize, signal } = options;
  const total = (await store.documentsToEmbed(embedder.model, 100_000)).length;
  let documents = 0;
  let chunks = 0;
  for (;;) {
    const pending = await store.documentsToEmbed(embedder.model, DOCUMENTS_PER_PASS);
    if (pending.length === 0) break;
    for (const document of pending) {
      signal.throwIfAborted();
      for (let first = 0; ; first += batchSize) {
        const texts = await store.chunkTexts(document.id, first, batchSize);
        if (texts.length === 0) break;
        const vectors = await embedder.embed(
          texts.map((chunk) => chunk.text),
          signal,
        );
        await store.storeEmbeddings(document.id, first, vectors);
        chunks += texts.length;
        signal.throwIfAborted();
      }
      await store.markEmbedded(document.id, embedder.model);
      documents += 1;
      await options.onProgress(documents, Math.max(total, documents));
    }
  }
  return { documents, chunks };
}
