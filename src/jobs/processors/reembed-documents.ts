import { isServiceError } from "../../errors/service-error.ts";
import { HybridKnowledgeStore } from "../../knowledge/hybrid-knowledge-store.ts";
import type { KnowledgeStore } from "../../knowledge/knowledge-store.ts";
import { reembedDocuments } from "../../knowledge/reembed-documents.ts";
import { JobError } from "../job-error.ts";
import type { JobProcessor, RunningJob } from "../job-worker.ts";

export const REEMBED_JOB_TYPE = "reembed-documents";

/** A completed re-embedding job's result. */
export type ReembedResult = { embedding_model: string; documents: number; chunks: number };

/**
 * Embeds, with the configured model, every document that has no vectors of it (`POST
 * /knowledge/reembed` after `EMBEDDINGS_MODEL` changed, or was first set). A model call's failure
 * fails the attempt with its own code, and a retryable one (a timeout, a 503) gets another
 * attempt, which goes on with the documents not yet done.
 */
export function createReembedDocumentsProcessor(options: {
  store: KnowledgeStore;
  batchSize?: number;
}): JobProcessor {
  return async (job: RunningJob): Promise<ReembedResult> => {
    const { store } = options;
    if (!(store instanceof HybridKnowledgeStore)) {
      throw new JobError({
        code: "CONFLICT",
        message: "No embedding model is configured (EMBEDDINGS_MODEL); there is nothing to embed with.",
      });
    }
    try {
      const done = await reembedDocuments({
        store,
        embedder: store.embedder,
        batchSize: options.batchSize ?? 32,
        signal: job.signal,
        onProgress: (documents, total) => job.reportProgress(Math.min(99, (100 * documents) / total)),
      });
      return { embedding_model: store.embeddingModel, ...done };
    } catch (error) {
      if (isServiceError(error))
        throw new JobError({ code: error.code, message: error.message, cause: error });
      throw error;
    }
  };
}
