import type { Config } from "../config.ts";
import type { KnowledgeStore } from "../knowledge/knowledge-store.ts";
import type { UploadStore } from "../knowledge/uploads/upload-store.ts";
import type { AbandonedJobHandler, JobProcessor } from "./job-worker.ts";
import {
  createIngestAbandonedHandler,
  createIngestDocumentProcessor,
  INGEST_JOB_TYPE,
} from "./processors/ingest-document.ts";
import { createReembedDocumentsProcessor, REEMBED_JOB_TYPE } from "./processors/reembed-documents.ts";

/** Every job type the service runs, with its processor: one list for the in-service and standalone workers. */
export function jobProcessors(
  config: Config,
  store: KnowledgeStore,
  uploads?: UploadStore,
): Record<string, JobProcessor> {
  return {
    [INGEST_JOB_TYPE]: createIngestDocumentProcessor({
      store,
      uploads,
      ingestRoot: config.ingestRoot,
      maxBytes: config.ingestMaxBytes,
      fetchTimeoutMs: config.ingestFetchTimeoutMs,
      chunkSize: config.chunkSize,
      chunkOverlap: config.chunkOverlap,
      maxPages: config.ingestMaxPages,
      maxUnpackedBytes: config.ingestMaxUnpackedBytes,
      extractTimeoutMs: config.ingestExtractTimeoutMs,
    }),
    [REEMBED_JOB_TYPE]: createReembedDocumentsProcessor({ store }),
  };
}

/** What each job type releases when the queue ends one of its jobs without its processor (see AbandonedJob). */
export function jobAbandonedHandlers(uploads?: UploadStore): Record<string, AbandonedJobHandler> {
  return uploads === undefined ? {} : { [INGEST_JOB_TYPE]: createIngestAbandonedHandler(uploads) };
}
