import { type FastifyPluginAsyncTypebox, Type } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import { mayAccess, ownerFor } from "../access/ownership.ts";
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
import { fileSourceProblem } from "../knowledge/sources/read-file-source.ts";

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
};

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
const JobIdParams = Type.Object({ job_id: Type.String({ maxLength: 100 }) });
const CancelParams = Type.Object({ id: Type.String({ maxLength: 100 }) });

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

  app.post(
    "/ingest",
    {
      schema: {
        tags: ["jobs"],
        summary: "Ingest a document into the knowledge base, in the background",
        description:
          "`source` is an http(s) URL, a path under INGEST_ROOT, or, with `text`, the name of inline content.",
        body: Type.Object(
          {
            source: Type.String({ minLength: 1, maxLength: 2048 }),
            text: Type.Optional(Type.String({ minLength: 1 })),
          },
          { additionalProperties: false },
        ),
        response: {
          202: Type.Object({ job_id: Type.String(), status: Type.Literal("queued") }),
        },
      },
    },
    async (request, reply) => {
      const { source, text } = request.body;
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
        owner: request.principal?.kind === "admin" ? undefined : ownerFor(request.principal),
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
