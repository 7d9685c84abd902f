import { performance } from "node:perf_hooks";
import { type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fastifyPlugin from "fastify-plugin";
import { isServiceError } from "../errors/service-error.ts";
import { redactSecrets } from "../http/redact-secrets.ts";
import { onResponseClose } from "../http/response-close.ts";
import { routeLabel } from "../http/route-label.ts";
import type { InFlightRequests, RequestObservation } from "./in-flight-requests.ts";
import type { MetricsRegistry } from "./metrics-registry.ts";
import type { Tracing } from "./tracing.ts";

export type RequestObservationOptions = {
  metrics: MetricsRegistry;
  inFlight: InFlightRequests;
  tracing: Tracing | undefined;
};

/** Scrapes are not counted in the metrics they read, nor traced. */
const METRICS_PATH = "/metrics";

/** nginx's "client closed request": the response was cut short because the client went away. */
const CLIENT_CLOSED_STATUS = "499";

/**
 * Per request: the HTTP metrics, the server span (when traces are exported) and the state model
 * calls report into. It ends on the response's `close`, not Fastify's `onResponse`, because
 * `onResponse` never runs for a response the client abandoned mid-stream, and those must count.
 */
export const requestObservationPlugin = fastifyPlugin(
  async function requestObservation(app: FastifyInstance, options: RequestObservationOptions) {
    const { inFlight, tracing } = options;

    app.addHook("onRequest", (request, reply, done) => {
      const path = routeLabel(request);
      if (path === METRICS_PATH) return done();
      const observation = inFlight.open(request.id, performance.now());
      if (tracing !== undefined) startServerSpan(tracing, request, path, observation);
      onResponseClose(reply.raw, () => finish(options, request, reply, path, observation));
      done();
    });

    // Errors thrown before a reply (draining, too many streams) say why a 429/503 was sent.
    app.addHook("onError", (request, _reply, error, done) => {
      if (isServiceError(error)) {
        const observation = inFlight.get(request.id);
        if (observation !== undefined) observation.rejectionReason = error.code.toLowerCase();
      }
      done();
    });
  },
  { name: "request-observation" },
);

function startServerSpan(
  tracing: Tracing,
  request: FastifyRequest,
  path: string,
  observation: RequestObservation,
): void {
  const parent = tracing.extract(request.headers);
  // The raw URL may carry ids or tokens in its query: only the path goes into the trace, and
  // without any key a client put in it.
  const urlPath = redactSecrets(request, request.url.split("?", 1)[0]);
  const span = tracing.tracer.startSpan(
    `${request.method} ${path}`,
    {
      kind: SpanKind.SERVER,
      attributes: {
        "http.request.method": request.method,
        "http.route": path,
        "url.path": urlPath,
        "request.id": request.id,
      },
    },
    parent,
  );
  observation.span = span;
  observation.traceContext = trace.setSpan(parent, span);
}

function finish(
  options: RequestObservationOptions,
  request: FastifyRequest,
  reply: FastifyReply,
  path: string,
  observation: RequestObservation,
): void {
  const { metrics, inFlight } = options;
  inFlight.close(observation);
  const seconds = (performance.now() - observation.startTime) / 1000;
  // `writableEnded`: the response was ended by us (also under `inject`, which never flushes a socket).
  const completed = reply.raw.writableEnded;
  const status = completed ? String(reply.statusCode) : CLIENT_CLOSED_STATUS;
  const method = request.method;

  metrics.recordHttpRequest(method, path, status, seconds);
  if (!completed) metrics.clientDisconnects.inc({ path });
  if (status === "429" || status === "503" || status === "507") {
    metrics.rejectedRequests.inc({ status, reason: observation.rejectionReason ?? "unspecified" });
  }
  if (observation.modelCalls > 0) {
    metrics.recordOverhead(path, Math.max(0, seconds - observation.upstreamSeconds));
  }
  if (observation.span !== undefined) endServerSpan(observation.span, reply.statusCode, completed);
}

function endServerSpan(span: Span, statusCode: number, completed: boolean): void {
  span.setAttribute("http.response.status_code", statusCode);
  if (!completed) {
    span.setAttribute("error.type", "client_disconnected");
    span.setStatus({ code: SpanStatusCode.ERROR });
  } else if (statusCode >= 500) {
    span.setAttribute("error.type", String(statusCode));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}
