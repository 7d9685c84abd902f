import { isServiceError } from "../../errors/service-error.ts";
import { type DocumentSummary, documentSummary } from "../../knowledge/document-summary.ts";
import { extractChunks } from "../../knowledge/extract-chunks.ts";
import { DEFAULT_COLLECTION, type KnowledgeStore } from "../../knowledge/knowledge-store.ts";
import { SourceError } from "../../knowledge/source-error.ts";
import { type FetchUrlSourceOptions, fetchUrlSource } from "../../knowledge/sources/fetch-url-source.ts";
import { readFileSource } from "../../knowledge/sources/read-file-source.ts";
import type { SourceDocument } from "../../knowledge/sources/source-document.ts";
import type { UploadStore } from "../../knowledge/uploads/upload-store.ts";
import { urlWithoutCredentials } from "../../url-without-credentials.ts";
import { JobError } from "../job-error.ts";
import {
  type AbandonedJobHandler,
  isFinalJobState,
  type JobProcessor,
  type RunningJob,
} from "../job-worker.ts";

export const INGEST_JOB_TYPE = "ingest-document";

/** What `POST /ingest` enqueues. */
export type IngestPayload = {
  source: string;
  text?: string;
  /** The collection the document joins; `default` when absent (jobs enqueued before collections). */
  collection?: string;
  /** An uploaded file's id in the upload store; `source` is then its file name. */
  upload?: string;
  /** The Content-Type the upload was sent with: a hint, like its file name. */
  contentType?: string;
  /** The virtual key that asked for it (see `jobOwner`): the job and the document it writes are its. */
  owner?: string;
};

/** A completed ingest job's result: the document it stored. */
export type IngestResult = DocumentSummary;

export type IngestDocumentOptions = {
  store: KnowledgeStore;
  /** Where uploaded files wait; a job of an upload without one fails. Its upload is deleted once it ends for good. */
  uploads?: UploadStore;
  ingestRoot: string;
  maxBytes: number;
  fetchTimeoutMs: number;
  chunkSize: number;
  chunkOverlap: number;
  /** Limits of reading the text: a PDF's pages, what a DOCX unpacks to, the extraction's time. */
  maxPages: number;
  maxUnpackedBytes: number;
  extractTimeoutMs: number;
  /** Chunks written per step; progress and cancellation are checked between steps. */
  batchSize?: number;
  /** Only tests set these (a fake resolver, a local server allowed). */
  fetch?: Pick<FetchUrlSourceOptions, "resolve" | "isAllowedAddress">;
};

/** Whether `source` names a URL (then fetched) rather than a path under INGEST_ROOT. */
export function isUrlSource(source: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(source);
}

/**
 * A source as it may be shown (`/jobs`, `/status`, events, logs): a URL keeps its scheme, host and
 * path and loses its query, fragment and credentials, where tokens tend to travel.
 */
export function shownSource(source: string): string {
  return isUrlSource(source) ? urlWithoutCredentials(source) : source;
}

/**
 * Reads a source (inline text, a file under INGEST_ROOT, or a public URL), extracts its text,
 * chunks it and stores it in the knowledge store, replacing the source's previous document.
 * The document id derives from the job id, so a retried job rewrites the same document and a
 * job that already published it (its worker died right after) just answers the result again.
 */
export function createIngestDocumentProcessor(options: IngestDocumentOptions): JobProcessor {
  const ingest = ingestDocument(options);
  return async (job: RunningJob): Promise<IngestResult> => {
    const { upload } = job.payload as IngestPayload;
    const uploads = options.uploads;
    if (upload !== undefined && uploads !== undefined) {
      // The bytes wait while the job will run again (another attempt, or the worker that takes it
      // back after a shutdown) and go once it is completed, failed or cancelled.
      job.onFinished(async (state) => {
        if (isFinalJobState(state)) await uploads.delete(upload);
      });
    }
    return ingest(job);
  };
}

/**
 * Deletes the upload of an ingest job that the queue ended without its processor (its worker died
 * on the last attempt, or after a cancel): the processor's `onFinished` listener never ran.
 */
export function createIngestAbandonedHandler(uploads: UploadStore): AbandonedJobHandler {
  return async (job) => {
    const { upload } = (job.payload ?? {}) as Partial<IngestPayload>;
    if (typeof upload === "string") await uploads.delete(upload);
  };
}

function ingestDocument(options: IngestDocumentOptions): (job: RunningJob) => Promise<IngestResult> {
  const batchSize = options.batchSize ?? 32;
  return async (job: RunningJob): Promise<IngestResult> => {
    const payload = job.payload as IngestPayload;
    const documentId = `doc_${job.id}`;
    const published = await options.store.getDocument(documentId);
    if (published?.state === "ready") return documentSummary(published);

    await job.reportProgress(5);
    const raw = await fromSource(() => readSource(payload, options, job.signal));
    await job.reportProgress(30);
    // Off the event loop: a large document takes the CPU for a while in both steps.
    const extracted = await fromSource(() =>
      extractChunks(
        raw.body,
        { name: raw.source, contentType: raw.contentType },
        {
          size: options.chunkSize,
          overlap: options.chunkOverlap,
          maxPages: options.maxPages,
          maxUnpackedBytes: options.maxUnpackedBytes,
          timeoutMs: options.extractTimeoutMs,
        },
      ),
    );
    const { characters, chunks } = extracted;
    if (characters === 0) {
      throw new JobError({ code: "SOURCE_UNREADABLE", message: "The source holds no readable text." });
    }
    await job.reportProgress(35);

    await options.store.beginDocument({
      id: documentId,
      collection: payload.collection ?? DEFAULT_COLLECTION,
      source: payload.source,
      ...(extracted.title === undefined ? {} : { title: extracted.title }),
      contentType: extracted.contentType,
      bytes: raw.body.length,
      characters,
      jobId: job.id,
      ...(payload.owner === undefined ? {} : { owner: payload.owner }),
    });
    try {
      // Progress follows the chunks stored, from 35 to 99; 100 is the completed job.
      for (let first = 0; first < chunks.length; first += batchSize) {
        await options.store.appendChunks(documentId, first, chunks.slice(first, first + batchSize));
        const stored = Math.min(chunks.length, first + batchSize);
        await job.reportProgress(35 + (64 * stored) / chunks.length);
      }
    } catch (error) {
      if (!isServiceError(error)) throw error;
      // The batches that fitted go too: a document the store had no room for leaves nothing behind.
      if (error.code === "KNOWLEDGE_STORE_FULL") await options.store.deleteDocument(documentId);
      // Also an embedding model's failure (with EMBEDDINGS_MODEL), under its own code and retry flag.
      throw new JobError({ code: error.code, message: error.message, cause: error });
    }
    return documentSummary(await options.store.publishDocument(documentId));
  };
}

async function readSource(
  payload: IngestPayload,
  options: IngestDocumentOptions,
  signal: AbortSignal,
): Promise<SourceDocument> {
  if (typeof payload.text === "string") {
    // Measured before it is copied: a payload enqueued by another producer is capped here too.
    if (Buffer.byteLength(payload.text, "utf8") > options.maxBytes) {
      throw new JobError({
        code: "SOURCE_TOO_LARGE",
        message: `The text is larger than ${options.maxBytes} bytes.`,
      });
    }
    const body = Buffer.from(payload.text, "utf8");
    // Inline text is typed by its name (`notes.md`, `page.html`) and its content, like a file.
    return { source: payload.source, body, contentType: "" };
  }
  signal.throwIfAborted();
  if (payload.upload !== undefined) {
    const upload = await options.uploads?.read(payload.upload);
    if (upload === undefined) {
      throw new JobError({
        code: "SOURCE_NOT_FOUND",
        message: "The uploaded file is no longer stored (its job already finished with it).",
      });
    }
    return { source: payload.source, body: upload.body, contentType: payload.contentType ?? "" };
  }
  if (isUrlSource(payload.source)) {
    return fetchUrlSource(payload.source, {
      maxBytes: options.maxBytes,
      timeoutMs: options.fetchTimeoutMs,
      ...options.fetch,
    });
  }
  return readFileSource(payload.source, { ingestRoot: options.ingestRoot, maxBytes: options.maxBytes });
}

/**
 * Runs a step that reads the source. Its failure becomes the job's, with the same code and
 * message: the code's retry flag makes a refused or missing source fail at once and a timeout or
 * a 503 get another attempt. Anything else is left as it is, and the worker retries it as an
 * internal failure.
 */
async function fromSource<T>(step: () => T | Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof SourceError)
      throw new JobError({ code: error.code, message: error.message, cause: error });
    throw error;
  }
}
