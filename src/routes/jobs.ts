import { type FastifyPluginAsyncTypebox, Type } from "@fastify/type-provider-typebox";
import { ServiceError } from "../errors/service-error.ts";
import { createResponseStream } from "../http/response-stream.ts";
import { createSseWriter } from "../http/sse-writer.ts";
import type { JobProducer } from "../jobs/job-producer.ts";
import { FinalJobStatuses, type JobRecord, type JobStatus as JobStatusValue } from "../jobs/job-record.ts";
import { INGEST_JOB_TYPE, type IngestPayload, isUrlSource } from "../jobs/processors/ingest-document.ts";
import { fileSourceProblem } from "../knowledge/sources/read-file-source.ts";

export type JobRoutesOptions = {
  jobQueue: JobProducer;
  /** Comment frames on the events stream at this interval keep proxies from closing it. */
  pingIntervalMs: number;
  /** `STREAM_STALL_MS`: an events client that takes nothing for this long is cut. */
  stallMs?: number;
};

/** STREAM_STALL_MS's own default, for an app that does not pass the configured value. */
const DEFAULT_STALL_MS = 30_000;

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

/** The public shape of a job, shared by `/status`, `/jobs` and the events stream. */
export function jobStatusBody(job: JobRecord) {
  return {
    job_id: job.id,
    type: job.type,
    status: job.status,
    progress: job.progress,
    source: job.source,
    ...(job.status === "completed" ? { result: job.result } : {}),
    ...(job.error && job.status !== "completed" ? { error: job.error } : {}),
    ...(job.error && job.errorCode && job.status !== "completed" ? { error_code: job.errorCode } : {}),
    attempts: job.attempts,
    created_at: new Date(job.createdAt).toISOString(),
    updated_at: new Date(job.updatedAt).toISOString(),
  };
}

/** `POST /ingest`, `GET /status/{job_id}` (+ `/events`), `GET /jobs`, `POST /jobs/{id}/cancel`. */
export const jobRoutes: FastifyPluginAsyncTypebox<JobRoutesOptions> = async (app, options) => {
  const { jobQueue } = options;
  const stallMs = options.stallMs ?? DEFAULT_STALL_MS;
  /** How to end each open events stream. */
  const openStreams = new Set<() => void>();
  // An events stream can outlive a shutdown window; end them all when the app closes.
  app.addHook("preClose", async () => {
    for (const finish of openStreams) finish();
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
      const payload: IngestPayload = text === undefined ? { source } : { source, text };
      const job = await jobQueue.enqueue({ type: INGEST_JOB_TYPE, payload, source });
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
      const job = await jobQueue.get(request.params.job_id);
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
      const page = await jobQueue.list({ status: status as JobStatusValue | undefined, limit, offset });
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
      const job = await jobQueue.cancel(request.params.id);
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
      const first = await jobQueue.get(request.params.job_id);
      if (!first)
        return reply.code(404).send({ job_id: request.params.job_id, status: "not_found" as const });

      const stream = createResponseStream(reply, { headers: EVENTS_HEADERS, stallMs });
      const writer = createSseWriter(stream, { pingMs: options.pingIntervalMs });
      let finished = false;
      let unsubscribe = () => {};
      const finish = () => {
        if (finished) return;
        finished = true;
        unsubscribe();
        openStreams.delete(finish);
        writer.end();
      };
      openStreams.add(finish);
      reply.raw.on("close", finish);

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
