import type { TextEmbedder } from "../llm/text-embedder.ts";
import {
  type ChunkText,
  type DocumentPage,
  type KnowledgeStore,
  type ListOptions,
  MAX_SEARCH_RESULTS,
  type NewChunk,
  type NewDocument,
  type OwnerFilter,
  type SearchHit,
  type SearchOptions,
  type SourceOptions,
  type StoredDocument,
  searchLimit,
  type VectorSearchOptions,
} from "./knowledge-store.ts";
import { reciprocalRankFusion } from "./reciprocal-rank-fusion.ts";

/** Candidates each list gives the fusion: more than the page, so a chunk second on both lists can win. */
const CANDIDATES = 30;

/**
 * A knowledge store with hybrid search, for when an embedding model is configured
 * (`EMBEDDINGS_MODEL`): chunks are embedded as they are written (each batch of the ingest in one
 * call, retried like any model call), and `search` fuses the full-text ranking with the vector
 * ranking of the query's embedding by reciprocal rank fusion. A chunk worded unlike the question
 * is found by its meaning; an exact name or code still ranks by its words. Everything else is the
 * store's own.
 */
export class HybridKnowledgeStore implements KnowledgeStore {
  readonly #store: KnowledgeStore;
  readonly #embedder: TextEmbedder;

  constructor(store: KnowledgeStore, embedder: TextEmbedder) {
    this.#store = store;
    this.#embedder = embedder;
  }

  get kind() {
    return this.#store.kind;
  }

  /** The model vectors are made with and searched by. */
  get embeddingModel(): string {
    return this.#embedder.model;
  }

  get embedder(): TextEmbedder {
    return this.#embedder;
  }

  beginDocument(document: NewDocument): Promise<void> {
    return this.#store.beginDocument({ ...document, embeddingModel: this.#embedder.model });
  }

  async appendChunks(documentId: string, firstIndex: number, chunks: readonly NewChunk[]): Promise<void> {
    const vectors = await this.#embedder.embed(chunks.map((chunk) => chunk.text));
    const embedded = chunks.map((chunk, index) => ({ ...chunk, embedding: vectors[index] }));
    return this.#store.appendChunks(documentId, firstIndex, embedded);
  }

  async search(query: string, options: SearchOptions = {}): Promise<SearchHit[]> {
    const limit = searchLimit(options.limit);
    const candidates = Math.min(MAX_SEARCH_RESULTS, Math.max(CANDIDATES, limit));
    // Both sides get the whole options, collection and owner included: neither may bring in
    // another collection's or another key's chunks.
    const [textHits, [vector]] = await Promise.all([
      this.#store.search(query, { ...options, limit: candidates }),
      this.#embedder.embed([query]),
    ]);
    const vectorHits = await this.#store.searchByVector(vector, {
      ...options,
      limit: candidates,
      model: this.#embedder.model,
    });
    return reciprocalRankFusion([textHits, vectorHits], limit);
  }

  searchByVector(vector: readonly number[], options: VectorSearchOptions): Promise<SearchHit[]> {
    return this.#store.searchByVector(vector, options);
  }

  publishDocument(documentId: string): Promise<StoredDocument> {
    return this.#store.publishDocument(documentId);
  }

  getDocument(id: string, filter?: OwnerFilter): Promise<StoredDocument | undefined> {
    return this.#store.getDocument(id, filter);
  }

  documentsForSource(source: string, options?: SourceOptions): Promise<StoredDocument[]> {
    return this.#store.documentsForSource(source, options);
  }

  listDocuments(options: ListOptions): Promise<DocumentPage> {
    return this.#store.listDocuments(options);
  }

  deleteDocument(id: string, filter?: OwnerFilter): Promise<boolean> {
    return this.#store.deleteDocument(id, filter);
  }

  documentsToEmbed(model: string, limit: number): Promise<StoredDocument[]> {
    return this.#store.documentsToEmbed(model, limit);
  }

  chunkTexts(documentId: string, firstIndex: number, limit: number): Promise<ChunkText[]> {
    return this.#store.chunkTexts(documentId, firstIndex, limit);
  }

  storeEmbeddings(
    documentId: string,
    firstIndex: number,
    vectors: readonly (readonly number[])[],
  ): Promise<void> {
    return this.#store.storeEmbeddings(documentId, firstIndex, vectors);
  }

  markEmbedded(documentId: string, model: string): Promise<void> {
    return this.#store.markEmbedded(documentId, model);
  }

  storedBytes(): Promise<number> {
    return this.#store.storedBytes();
  }

  ping(): Promise<void> {
    return this.#store.ping();
  }

  close(): Promise<void> {
    return this.#store.close();
  }
}
