import { isServiceError } from "../../errors/service-error.ts";
import { type DocumentSummary, documentSummary } from "../../knowledge/document-summary.ts";
import { extractChunks } from "../../knowledge/extract-chunks.ts";
import type { KnowledgeStore } from "../../knowledge/knowledge-store.ts";
import { SourceError } from "../../knowledge/source-error.ts";
import { type FetchUrlSourceOptions, fetchUrlSource } from "../../knowledge/sources/fetch-url-source.ts";
import { readFileSource } from "../../knowledge/sources/read-file-source.ts";
import type { SourceDocument } from "../../knowledge/sources/source-document.ts";
import { urlWithoutCredentials } from "../../url-without-credentials.ts";
import { JobError } from "../job-error.ts";
import type { JobProcessor, RunningJob } from "../job-worker.ts";

export const INGEST_JOB_TYPE = "ingest-document";

/** What `POST /ingest` enqueues. */
/** `owner`: the virtual key that asked for it (see `jobOwner`); the processor does not read it. */
export type IngestPayload = { source: string; text?: string; owner?: string };

/** A completed ingest job's result: the document it stored. */
export type IngestResult = DocumentSummary;

export type IngestDocumentOptions = {
  store: KnowledgeStore;
  ingestRoot: string;
  maxBytes: number;
  fetchTimeoutMs: number;
  chunkSize: number;
  chunkOverlap: number;
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
    const { characters, chunks } = await fromSource(() =>
      extractChunks(raw.body, raw.contentType, { size: options.chunkSize, overlap: options.chunkOverlap }),
    );
    if (characters === 0) {
      throw new JobError({ code: "SOURCE_UNREADABLE", message: "The source holds no readable text." });
    }
    await job.reportProgress(35);

    await options.store.beginDocument({
      id: documentId,
      source: payload.source,
      contentType: raw.contentType,
      bytes: raw.body.length,
      characters,
      jobId: job.id,
    });
    try {
      // Progress follows the chunks stored, from 35 to 99; 100 is the completed job.
      for (let first = 0; first < chunks.length; first += batchSize) {
        await options.store.appendChunks(documentId, first, chunks.slice(first, first + batchSize));
        const stored = Math.min(chunks.length, first + batchSize);
        await job.reportProgress(35 + (64 * stored) / chunks.length);
      }
    } catch (error) {
      if (!isServiceError(error) || error.code !== "KNOWLEDGE_STORE_FULL") throw error;
      // The batches that fitted go too: a document the store had no room for leaves nothing behind.
      await options.store.deleteDocument(documentId);
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
    return { source: payload.source, body, contentType: inlineType(payload.source) };
  }
  signal.throwIfAborted();
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

/** Inline text is plain unless its name says Markdown, HTML or JSON. */
function inlineType(name: string): string {
  const lower = name.toLowerCase();
  if (lower.endsWith(".md") || lower.endsWith(".markdown")) return "text/markdown";
  if (lower.endsWith(".html") || lower.endsWith(".htm")) return "text/html";
  if (lower.endsWith(".json")) return "application/json";
  return "text/plain";
}
