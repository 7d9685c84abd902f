import { randomUUID } from "node:crypto";
import path from "node:path";
import multipart from "@fastify/multipart";
import { type FastifyPluginAsyncTypebox, Type } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import { checkCollectionAllowed } from "../access/collection-access.ts";
import { mayAccess, ownerFilterFor, ownerFor } from "../access/ownership.ts";
import { ServiceError } from "../errors/service-error.ts";
import { createResponseStream } from "../http/response-stream.ts";
import { createSseWriter, formatSseData } from "../http/sse-writer.ts";
import { JobAdmission } from "../jobs/job-admission.ts";
import type { JobProducer } from "../jobs/job-producer.ts";
import {
  FinalJobStatuses,
  type JobRecord,
  type JobStatus as JobStatusValue,
  jobOwner,
} from "../jobs/job-record.ts";
import {
  INGEST_JOB_TYPE,
  type IngestPayload,
  isUrlSource,
  shownSource,
} from "../jobs/processors/ingest-document.ts";
import { REEMBED_JOB_TYPE } from "../jobs/processors/reembed-documents.ts";
import { COLLECTION_PATTERN, DEFAULT_COLLECTION } from "../knowledge/knowledge-store.ts";
import { fileSourceProblem } from "../knowledge/sources/read-file-source.ts";
import type { UploadStore } from "../knowledge/uploads/upload-store.ts";
import { PRINTABLE_FORMAT } from "../printable-text.ts";

/** The app's stream slots (`MAX_CONCURRENT_STREAMS`), shared with chat streams. */
export type EventStreamSlots = {
  readonly limit: number;
  /** A release function, or undefined when every slot is taken. */
  tryAcquire(): (() => void) | undefined;
};

export type JobRoutesOptions = {
  jobQueue: JobProducer;
  /** Comment frames on the events stream at this interval keep proxies from closing it. */
  pingIntervalMs: number;
  /** `STREAM_STALL_MS`: an events client that takes nothing for this long is cut. */
  stallMs?: number;
  /** Each events stream takes one, like a chat stream; past the cap, 429 TOO_MANY_STREAMS. */
  streamSlots: EventStreamSlots;
  /** `JOB_MAX_SUBSCRIBERS`: events streams open on one job at once; past it, 429. */
  maxSubscribers?: number;
  /** `JOBS_MAX_QUEUED`: queued jobs past which `POST /ingest` answers 429 QUEUE_FULL. */
  maxQueued?: number;
  /** `INGEST_MAX_BYTES`: inline `text` larger than this is refused with 413. */
  maxTextBytes?: number;
  /** The `DATA_DIR` free-space floor: below it `POST /ingest` answers 507 and enqueues nothing. */
  diskSpace?: { check(): Promise<void> };
  /** Where uploaded files (`multipart/form-data`) wait for their jobs; without it, uploads answer 415. */
  uploads?: UploadStore;
  /** `INGEST_MAX_BYTES` for each uploaded file, enforced while it streams in. */
  maxUploadBytes?: number;
  /** `EMBEDDINGS_MODEL`: without one, `POST /knowledge/reembed` answers 409. */
  embeddingsModel?: string;
};

/** Files one upload request may carry. */
export const MAX_UPLOAD_FILES = 20;

const CollectionName = Type.String({
  pattern: COLLECTION_PATTERN,
  description: `The collection the document joins (default \`${DEFAULT_COLLECTION}\`): letters, digits, \`.\`, \`_\`, \`-\`; at most 64`,
});

const QueuedJob = Type.Object({ job_id: Type.String(), status: Type.Literal("queued") });

/** STREAM_STALL_MS's own default, for an app that does not pass the configured value. */
const DEFAULT_STALL_MS = 30_000;
/** JOB_MAX_SUBSCRIBERS's own default. */
const DEFAULT_MAX_SUBSCRIBERS = 100;

/** The last frame of every events stream still open when the service drains. */
const SHUTTING_DOWN_FRAME = `event: error\n${formatSseData(
  JSON.stringify({
    code: "SHUTTING_DOWN",
    message: "The service is shutting down; reconnect to follow the job.",
  }),
)}`;

/** The events stream's own headers: its clients get a charset, which the shared SSE_HEADERS leave out. */
const EVENTS_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  connection: "keep-alive",
  // nginx would otherwise buffer the stream and deliver it in one piece.
  "x-accel-buffering": "no",
};

const JobStatusSchema = Type.Union(
  [
    Type.Literal("queued"),
    Type.Literal("running"),
    Type.Literal("completed"),
    Type.Literal("failed"),
    Type.Literal("cancelled"),
  ],
  { description: "queued, running, completed, failed or cancelled" },
);

const JobStatusBody = Type.Object({
  job_id: Type.String(),
  type: Type.String(),
  status: JobStatusSchema,
  progress: Type.Integer({ minimum: 0, maximum: 100 }),
  source: Type.Union([Type.String(), Type.Null()]),
  result: Type.Optional(Type.Unknown({ description: "present once completed" })),
  error: Type.Optional(
    Type.String({ description: "why it failed, or the last attempt's failure while retrying" }),
  ),
  error_code: Type.Optional(
    Type.String({ description: "the stable code of `error`, from the error table (e.g. SOURCE_REFUSED)" }),
  ),
  attempts: Type.Integer(),
  created_at: Type.String({ format: "date-time" }),
  updated_at: Type.String({ format: "date-time" }),
});

const NotFoundBody = Type.Object({ job_id: Type.String(), status: Type.Literal("not_found") });
const JobIdParams = Type.Object({ job_id: Type.String({ maxLength: 100, format: PRINTABLE_FORMAT }) });
const CancelParams = Type.Object({ id: Type.String({ maxLength: 100, format: PRINTABLE_FORMAT }) });

/** The job when the caller may see it; undefined, as if it did not exist, otherwise. */
function visible(request: FastifyRequest, job: JobRecord | undefined): JobRecord | undefined {
  return job !== undefined && mayAccess(request.principal, jobOwner(job)) ? job : undefined;
}

/** The public shape of a job, shared by `/status`, `/jobs` and the events stream. */
export function jobStatusBody(job: JobRecord) {
  return {
    job_id: job.id,
    type: job.type,
    status: job.status,
    progress: job.progress,
    source: job.source === null ? null : shownSource(job.source),
    ...(job.status === "completed" ? { result: withShownSource(job.result) } : {}),
    ...(job.error && job.status !== "completed" ? { error: job.error } : {}),
    ...(job.error && job.errorCode && job.status !== "completed" ? { error_code: job.errorCode } : {}),
    attempts: job.attempts,
    created_at: new Date(job.createdAt).toISOString(),
    updated_at: new Date(job.updatedAt).toISOString(),
  };
}

/** `POST /ingest`, `GET /status/{job_id}` (+ `/events`), `GET /jobs`, `POST /jobs/{id}/cancel`. */
export const jobRoutes: FastifyPluginAsyncTypebox<JobRoutesOptions> = async (app, options) => {
  const { jobQueue, streamSlots, diskSpace } = options;
  const stallMs = options.stallMs ?? DEFAULT_STALL_MS;
  const maxSubscribers = options.maxSubscribers ?? DEFAULT_MAX_SUBSCRIBERS;
  const admission = new JobAdmission({
    jobQueue,
    maxQueued: options.maxQueued ?? Number.POSITIVE_INFINITY,
    checkStorage: diskSpace && (() => diskSpace.check()),
  });
  /** How to end each open events stream, given its last frame. */
  const openStreams = new Set<(last?: string) => void>();
  /** Open events streams per job id; a job with none has no entry. */
  const subscribers = new Map<string, number>();
  // An events stream can outlive a shutdown window; end them all, each with a frame that says
  // why, when the app closes, so a client cannot take the end for the job's.
  app.addHook("preClose", async () => {
    for (const finish of openStreams) finish(SHUTTING_DOWN_FRAME);
  });

  const { uploads } = options;
  if (uploads !== undefined) {
    // Parts are read as a stream (`request.parts()`), each file written to the upload store as it
    // arrives; nothing is buffered whole, and a file over the limit stops at the limit.
    await app.register(multipart, {
      limits: {
        fileSize: options.maxUploadBytes ?? Number.POSITIVE_INFINITY,
        files: MAX_UPLOAD_FILES,
        fields: 10,
        fieldSize: 1024,
        parts: MAX_UPLOAD_FILES + 10,
      },
    });
  }

  /** Each file of a `multipart/form-data` upload becomes an ingest job; answers their ids. */
  const ingestUploads = async (request: FastifyRequest, store: UploadStore) => {
    await diskSpace?.check();
    const files: { upload: string; name: string; contentType: string }[] = [];
    let collection: string | undefined;
    try {
      for await (const part of request.parts()) {
        if (part.type === "field") {
          if (part.fieldname !== "collection") throw unknownField(part.fieldname);
          collection = String(part.value);
          if (!new RegExp(COLLECTION_PATTERN).test(collection)) {
            throw new ServiceError({
              code: "VALIDATION_FAILED",
              message: `collection must match ${COLLECTION_PATTERN}`,
              param: "collection",
            });
          }
          // Refused as soon as it is read, before more files are saved for nothing.
          checkCollectionAllowed(request.principal, collection);
          continue;
        }
        if (part.fieldname !== "file") throw unknownField(part.fieldname);
        const upload = `upl_${randomUUID()}`;
        const name = uploadName(part.filename);
        // Recorded first, so a failure while saving removes whatever was written too.
        files.push({ upload, name, contentType: part.mimetype });
        const { bytes } = await store.save(upload, part.file);
        if (part.file.truncated) {
          throw new ServiceError({
            code: "SOURCE_TOO_LARGE",
            message: `The file ${name} is larger than INGEST_MAX_BYTES (${options.maxUploadBytes}).`,
            param: "file",
          });
        }
        if (bytes === 0) {
          throw new ServiceError({
            code: "VALIDATION_FAILED",
            message: `The file ${name} is empty.`,
            param: "file",
          });
        }
      }
      if (files.length === 0) {
        throw new ServiceError({
          code: "VALIDATION_FAILED",
          message: "The upload holds no file: send each one as a `file` field (curl -F file=@handbook.pdf).",
          param: "file",
        });
      }
      // Without a `collection` field the files join the default collection, which the key's limit covers too.
      if (collection === undefined) checkCollectionAllowed(request.principal, DEFAULT_COLLECTION);
    } catch (error) {
      await Promise.all(files.map((file) => store.delete(file.upload).catch(() => {})));
      throw uploadError(error, options.maxUploadBytes);
    }
    const jobs: { job_id: string; status: "queued"; source: string }[] = [];
    const owner = ownerFor(request.principal);
    for (const [index, file] of files.entries()) {
      const payload: IngestPayload = {
        source: file.name,
        upload: file.upload,
        contentType: file.contentType,
        ...(collection === undefined ? {} : { collection }),
        ...(owner === null ? {} : { owner }),
      };
      try {
        const job = await admission.enqueue({ type: INGEST_JOB_TYPE, payload, source: file.name });
        jobs.push({ job_id: job.id, status: "queued", source: file.name });
      } catch (error) {
        // The files that got no job are deleted; those enqueued stay with their jobs.
        await Promise.all(files.slice(index).map((rest) => store.delete(rest.upload).catch(() => {})));
        throw error;
      }
    }
    return { jobs };
  };

  app.post(
    "/ingest",
    {
      schema: {
        tags: ["jobs"],
        summary: "Ingest a document into the knowledge base, in the background",
        description:
          "JSON: `source` is an http(s) URL, a path under INGEST_ROOT, or, with `text`, the name of inline content. " +
          `\`multipart/form-data\`: one or more \`file\` fields (at most ${MAX_UPLOAD_FILES}, each at most INGEST_MAX_BYTES) and an optional \`collection\` field; each file becomes a job. ` +
          "The job and its document belong to the virtual key that sent it (other keys get 404 for them); a key limited to `collections` gets 403 COLLECTION_NOT_ALLOWED for any other collection, `default` when none is named.",
        body: {
          content: {
            "application/json": {
              schema: Type.Object(
                {
                  source: Type.String({ minLength: 1, maxLength: 2048, format: PRINTABLE_FORMAT }),
                  text: Type.Optional(Type.String({ minLength: 1 })),
                  collection: Type.Optional(CollectionName),
                },
                { additionalProperties: false },
              ),
            },
          },
        },
        response: {
          202: Type.Union([
            QueuedJob,
            Type.Object({
              jobs: Type.Array(Type.Object({ ...QueuedJob.properties, source: Type.String() }), {
                description: "an upload's jobs, one per file, in the order sent",
              }),
            }),
          ]),
        },
      },
    },
    async (request, reply) => {
      if (request.isMultipart?.() && uploads !== undefined) {
        const answer = await ingestUploads(request, uploads);
        return reply.code(202).header("location", `/status/${answer.jobs[0].job_id}`).send(answer);
      }
      // The body's schema is checked for JSON only: any other body (Fastify parses text/plain) is refused.
      if (!/^application\/json\b/i.test(request.headers["content-type"] ?? "")) {
        throw new ServiceError({
          code: "UNSUPPORTED_MEDIA_TYPE",
          message:
            uploads === undefined
              ? "POST /ingest takes application/json."
              : "POST /ingest takes application/json, or multipart/form-data with files.",
        });
      }
      const { source, text, collection } = request.body as {
        source: string;
        text?: string;
        collection?: string;
      };
      checkCollectionAllowed(request.principal, collection ?? DEFAULT_COLLECTION);
      if (text !== undefined && options.maxTextBytes !== undefined) {
        const bytes = Buffer.byteLength(text, "utf8");
        if (bytes > options.maxTextBytes) {
          throw new ServiceError({
            code: "SOURCE_TOO_LARGE",
            message: `body.text is ${bytes} bytes, more than INGEST_MAX_BYTES (${options.maxTextBytes}).`,
            param: "text",
          });
        }
      }
      if (text === undefined) {
        const problem = isUrlSource(source) ? urlProblem(source) : fileSourceProblem(source);
        if (problem) {
          throw new ServiceError({
            code: "VALIDATION_FAILED",
            message: `body.source ${problem}`,
            param: "source",
          });
        }
      }
      const owner = ownerFor(request.principal);
      const payload: IngestPayload = {
        source,
        ...(text === undefined ? {} : { text }),
        ...(collection === undefined ? {} : { collection }),
        // The job belongs to the virtual key that made it: other keys get 404 for it.
        ...(owner === null ? {} : { owner }),
      };
      // The payload keeps the source as given, for the worker to read; the job's shown `source`
      // drops a URL's query, fragment and credentials (`?access_token=...`).
      const job = await admission.enqueue({ type: INGEST_JOB_TYPE, payload, source: shownSource(source) });
      return reply
        .code(202)
        .header("location", `/status/${job.id}`)
        .send({ job_id: job.id, status: "queued" as const });
    },
  );

  app.post(
    "/knowledge/reembed",
    {
      schema: {
        tags: ["knowledge"],
        summary: "Embed every document that has no vectors of the configured model, in the background",
        description:
          "After EMBEDDINGS_MODEL is first set or changed: until its job has reached a document, that document is found by full-text search only. It is the admin key's (and API_KEYS keys' and open mode's): a virtual key gets 403 FORBIDDEN.",
        response: { 202: QueuedJob },
      },
    },
    async (request, reply) => {
      // The job embeds every owner's documents and spends on the embedding model for all of them,
      // so a virtual key, which sees and pays for its own only, may not start it.
      if (request.principal?.kind === "virtual") {
        throw new ServiceError({
          code: "FORBIDDEN",
          message: "Re-embedding the knowledge base is the admin key's: a virtual key may not start it.",
        });
      }
      if (options.embeddingsModel === undefined) {
        throw new ServiceError({
          code: "CONFLICT",
          message: "No embedding model is configured: set EMBEDDINGS_MODEL to embed the knowledge base.",
        });
      }
      const job = await admission.enqueue({
        type: REEMBED_JOB_TYPE,
        payload: {},
        source: options.embeddingsModel,
      });
      return reply
        .code(202)
        .header("location", `/status/${job.id}`)
        .send({ job_id: job.id, status: "queued" as const });
    },
  );

  app.get(
    "/status/:job_id",
    {
      schema: {
        tags: ["jobs"],
        summary: "A job's status, progress and result",
        params: JobIdParams,
        response: { 200: JobStatusBody, 404: NotFoundBody },
      },
    },
    async (request, reply) => {
      const job = visible(request, await jobQueue.get(request.params.job_id));
      if (!job) return reply.code(404).send({ job_id: request.params.job_id, status: "not_found" as const });
      return jobStatusBody(job);
    },
  );

  app.get(
    "/jobs",
    {
      schema: {
        tags: ["jobs"],
        summary: "Jobs, newest first, optionally of one status",
        querystring: Type.Object({
          status: Type.Optional(JobStatusSchema),
          limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
          offset: Type.Integer({ minimum: 0, maximum: 10_000, default: 0 }),
        }),
        response: {
          200: Type.Object({
            jobs: Type.Array(JobStatusBody),
            total: Type.Integer(),
            limit: Type.Integer(),
            offset: Type.Integer(),
          }),
        },
      },
    },
    async (request) => {
      const { status, limit, offset } = request.query;
      const page = await jobQueue.list({
        status: status as JobStatusValue | undefined,
        limit,
        offset,
        // Everything for the admin key; for any other caller, its own jobs only.
        owner: ownerFilterFor(request.principal),
      });
      return { jobs: page.jobs.map(jobStatusBody), total: page.total, limit, offset };
    },
  );

  app.post(
    "/jobs/:id/cancel",
    {
      schema: {
        tags: ["jobs"],
        summary: "Cancel a job: a queued one at once, a running one at its next step",
        params: CancelParams,
        response: { 200: JobStatusBody, 404: NotFoundBody },
      },
    },
    async (request, reply) => {
      // Another caller's job is not found, and is left alone.
      const owned = visible(request, await jobQueue.get(request.params.id));
      const job = owned && (await jobQueue.cancel(owned.id));
      if (!job) return reply.code(404).send({ job_id: request.params.id, status: "not_found" as const });
      if (job.status === "completed" || job.status === "failed") {
        throw new ServiceError({
          code: "CONFLICT",
          message: `The job already ${job.status}; it cannot be cancelled.`,
        });
      }
      // A queued upload's job never runs now: its bytes go with it.
      const upload = (job.payload as Partial<IngestPayload> | undefined)?.upload;
      if (job.status === "cancelled" && typeof upload === "string")
        await uploads?.delete(upload).catch(() => {});
      return jobStatusBody(job);
    },
  );

  app.get(
    "/status/:job_id/events",
    {
      schema: {
        tags: ["jobs"],
        summary: "Server-Sent Events of a job's status and progress until it reaches a final state",
        description:
          "Each change is an `event: status` frame whose data is the `/status` body; the stream ends after a final state.",
        params: JobIdParams,
        produces: ["text/event-stream"],
        response: { 404: NotFoundBody },
      },
    },
    async (request, reply) => {
      const jobId = request.params.job_id;
      // Both quotas are taken before anything is awaited, so concurrent attempts cannot all pass.
      const open = subscribers.get(jobId) ?? 0;
      if (open >= maxSubscribers) {
        throw new ServiceError({
          code: "TOO_MANY_SUBSCRIBERS",
          message: `This job has its limit of ${maxSubscribers} events streams open; retry shortly.`,
          retryAfterSeconds: 1,
        });
      }
      const releaseSlot = streamSlots.tryAcquire();
      if (releaseSlot === undefined) {
        throw new ServiceError({
          code: "TOO_MANY_STREAMS",
          message: `This instance is serving its limit of ${streamSlots.limit} streams; retry shortly.`,
          retryAfterSeconds: 1,
        });
      }
      subscribers.set(jobId, open + 1);
      let held = true;
      const release = () => {
        if (!held) return;
        held = false;
        releaseSlot();
        const left = (subscribers.get(jobId) ?? 1) - 1;
        if (left > 0) subscribers.set(jobId, left);
        else subscribers.delete(jobId);
      };

      let first: JobRecord | undefined;
      try {
        first = visible(request, await jobQueue.get(jobId));
      } catch (error) {
        release();
        throw error;
      }
      if (!first) {
        release();
        return reply.code(404).send({ job_id: jobId, status: "not_found" as const });
      }

      const stream = createResponseStream(reply, { headers: EVENTS_HEADERS, stallMs });
      const writer = createSseWriter(stream, { pingMs: options.pingIntervalMs });
      let finished = false;
      let unsubscribe = () => {};
      const finish = (last?: string) => {
        if (finished) return;
        finished = true;
        unsubscribe();
        openStreams.delete(finish);
        release();
        writer.end(last);
      };
      openStreams.add(finish);
      reply.raw.on("close", () => finish());

      // While the client's socket is full nothing is written; changes meanwhile collapse into the
      // latest one, which is what a client following the job needs, and the final state is
      // always the last frame.
      let latest: JobRecord | undefined;
      let writing = false;
      const send = async (job: JobRecord) => {
        latest = job;
        if (writing) return;
        writing = true;
        while (latest && !finished) {
          const next = latest;
          latest = undefined;
          await writer.event("status", JSON.stringify(jobStatusBody(next)));
          if (FinalJobStatuses.has(next.status)) finish();
        }
        writing = false;
      };
      unsubscribe = jobQueue.subscribe(first.id, (job) => void send(job));
      if (finished) unsubscribe();
    },
  );
};

/** A completed ingest's result names its document's source; shown like the job's own. */
function withShownSource(result: unknown): unknown {
  if (typeof result !== "object" || result === null || !("source" in result)) return result;
  const { source } = result as { source: unknown };
  return typeof source === "string" ? { ...result, source: shownSource(source) } : result;
}

function urlProblem(source: string): string | undefined {
  try {
    const url = new URL(source);
    if (url.protocol !== "http:" && url.protocol !== "https:") return "must be an http or https URL";
    if (url.username || url.password) return "must not carry credentials";
  } catch {
    return "is not a valid URL";
  }
  return undefined;
}

function unknownField(name: string): ServiceError {
  return new ServiceError({
    code: "VALIDATION_FAILED",
    message: `The upload's field ${name} is not known: send files as \`file\` and the collection as \`collection\`.`,
    param: name,
  });
}

/** A file's name as the job shows it: its last path segment, without control characters, at most 255 characters. */
function uploadName(filename: string): string {
  const base = path.posix.basename(filename.replaceAll("\\", "/")).replace(/\p{Cc}/gu, "");
  return (base || "upload").slice(0, 255);
}

/** @fastify/multipart's own limit errors, in the error table's codes. */
function uploadError(error: unknown, maxBytes: number | undefined): unknown {
  const code = (error as { code?: unknown }).code;
  if (code === "FST_REQ_FILE_TOO_LARGE") {
    return new ServiceError({
      code: "SOURCE_TOO_LARGE",
      message: `A file is larger than INGEST_MAX_BYTES (${maxBytes}).`,
      param: "file",
    });
  }
  if (code === "FST_FILES_LIMIT" || code === "FST_PARTS_LIMIT" || code === "FST_FIELDS_LIMIT") {
    return new ServiceError({
      code: "VALIDATION_FAILED",
      message: `An upload carries at most ${MAX_UPLOAD_FILES} files and 10 fields.`,
      param: "file",
    });
  }
  // The multipart parser (busboy) reports a body that breaks off or breaks its format with a plain
  // Error: the client's to fix, never a 500.
  const parserProblem =
    code === undefined && error instanceof Error && /multipart|part header|boundary/i.test(error.message);
  if (code === "FST_INVALID_MULTIPART_CONTENT_TYPE" || code === "FST_PROTO_VIOLATION" || parserProblem) {
    return new ServiceError({
      code: "VALIDATION_FAILED",
      message: "The multipart body is malformed.",
      cause: error,
    });
  }
  return error;
}
