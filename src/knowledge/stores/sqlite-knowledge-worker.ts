// A worker thread of the SQLite knowledge store: its own connection, one call at a time.
import { workerData } from "node:worker_threads";
import { serveWorkerRequests } from "../worker-protocol.ts";
import { SqliteKnowledgeDatabase, type SqliteKnowledgeDatabaseOptions } from "./sqlite-knowledge-database.ts";

const database = new SqliteKnowledgeDatabase(workerData as SqliteKnowledgeDatabaseOptions);

serveWorkerRequests({
  beginDocument: database.beginDocument.bind(database),
  appendChunks: database.appendChunks.bind(database),
  publishDocument: database.publishDocument.bind(database),
  getDocument: database.getDocument.bind(database),
  documentsForSource: database.documentsForSource.bind(database),
  listDocuments: database.listDocuments.bind(database),
  deleteDocument: database.deleteDocument.bind(database),
  search: database.search.bind(database),
  searchByVector: database.searchByVector.bind(database),
  documentsToEmbed: database.documentsToEmbed.bind(database),
  chunkTexts: database.chunkTexts.bind(database),
  storeEmbeddings: database.storeEmbeddings.bind(database),
  markEmbedded: database.markEmbedded.bind(database),
  storedBytes: database.storedBytes.bind(database),
  ping: database.ping.bind(database),
});
