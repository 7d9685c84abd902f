import { type FastifyPluginAsyncTypebox, Type } from "@fastify/type-provider-typebox";
import type { Config } from "../config.ts";
import type { Observability } from "../observability/create-observability.ts";
import { isLangSmithEnabled } from "../observability/langsmith-tracing.ts";

export type TraceCheckRoutesOptions = {
  config: Config;
  observability: Observability;
};

const TraceCheckBody = Type.Object({
  langsmith_tracing: Type.Boolean({ description: "runs are sent to LangSmith" }),
  langsmith_project: Type.Union([Type.String(), Type.Null()]),
  has_langsmith_api_key: Type.Boolean(),
  langsmith_endpoint: Type.Union([Type.String(), Type.Null()], {
    description: "where runs go, without credentials; null when LangSmith tracing is off",
  }),
  request_id: Type.String(),
  otel_tracing: Type.Boolean({ description: "spans are exported over OTLP/HTTP" }),
  otel_exporter: Type.Union([Type.Literal("otlp_http"), Type.Literal("none")]),
  otel_endpoint: Type.Union([Type.String(), Type.Null()], {
    description: "the OTLP traces URL, without credentials",
  }),
  otel_service_name: Type.String(),
  trace_id: Type.Union([Type.String(), Type.Null()], {
    description: "this request's trace id, when spans are exported",
  }),
});

/** `GET /trace-check`: how tracing is configured, to verify a deployment. Never a key or a URL's credentials. */
export const traceCheckRoutes: FastifyPluginAsyncTypebox<TraceCheckRoutesOptions> = async (app, options) => {
  const { config, observability } = options;
  app.get(
    "/trace-check",
    {
      schema: {
        tags: ["observability"],
        summary: "Tracing configuration of this instance (LangSmith, OpenTelemetry)",
        response: { 200: TraceCheckBody },
      },
    },
    async (request) => {
      const { tracing, langsmith } = observability;
      const span = observability.inFlight.get(request.id)?.span;
      return {
        langsmith_tracing: isLangSmithEnabled(config),
        langsmith_project: langsmith?.projectName ?? config.langsmithProject ?? null,
        has_langsmith_api_key: config.langsmithApiKey !== undefined,
        langsmith_endpoint: langsmith?.endpoint ?? null,
        request_id: request.id,
        otel_tracing: tracing !== undefined,
        otel_exporter: tracing !== undefined ? ("otlp_http" as const) : ("none" as const),
        otel_endpoint: tracing?.tracesEndpoint ?? null,
        otel_service_name: config.otelServiceName,
        trace_id: span?.spanContext().traceId ?? null,
      };
    },
  );
};
