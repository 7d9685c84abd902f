// The real server process whose knowledge store pauses between chunk batches, so a test can
// kill it with SIGKILL in the middle of an ingestion.
import { setTimeout as sleep } from "node:timers/promises";
import { loadConfig } from "../../src/config.ts";
import { createKnowledgeStore } from "../../src/knowledge/create-knowledge-store.ts";
import type { KnowledgeStore } from "../../src/knowledge/knowledge-store.ts";
import { main } from "../../src/server.ts";

const store = createKnowledgeStore(loadConfig(process.env));
const slowStore: KnowledgeStore = {
  kind: store.kind,
  beginDocument: (document) => store.beginDocument(document),
  appendChunks: async (documentId, firstIndex, chunks) => {
    await sleep(Number(process.env.SLOW_BATCH_MS ?? 200));
    return store.appendChunks(documentId, firstIndex, chunks);
  },
  publishDocument: (documentId) => store.publishDocument(documentId),
  getDocument: (id, filter) => store.getDocument(id, filter),
  documentsForSource: (source, options) => store.documentsForSource(source, options),
  listDocuments: (options) => store.listDocuments(options),
  deleteDocument: (id, filter) => store.deleteDocument(id, filter),
  search: (query, options) => store.search(query, options),
  searchByVector: (vector, options) => store.searchByVector(vector, options),
  documentsToEmbed: (model, limit) => store.documentsToEmbed(model, limit),
  chunkTexts: (documentId, firstIndex, limit) => store.chunkTexts(documentId, firstIndex, limit),
  storeEmbeddings: (documentId, firstIndex, vectors) =>
    store.storeEmbeddings(documentId, firstIndex, vectors),
  markEmbedded: (documentId, model) => store.markEmbedded(documentId, model),
  storedBytes: () => store.storedBytes(),
  ping: () => store.ping(),
  close: () => store.close(),
};

await main({ knowledgeStore: slowStore });
