import {
  type Context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  type TextMapPropagator,
  type Tracer,
} from "@opentelemetry/api";
import type { Config } from "../config.ts";
import { urlWithoutCredentials } from "../url-without-credentials.ts";

export type Tracing = {
  readonly tracer: Tracer;
  /** Where spans go, without credentials: safe for `/trace-check`. */
  readonly tracesEndpoint: string;
  /** The trace context of an incoming request (W3C `traceparent`/`tracestate`), or the root. */
  extract(headers: Readonly<Record<string, string | string[] | undefined>>): Context;
  /** Headers that carry `context` to the next hop. */
  inject(context: Context): Record<string, string>;
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
};

/**
 * OpenTelemetry traces exported over OTLP/HTTP, or `undefined` when `OTEL_EXPORTER_OTLP_ENDPOINT`
 * is unset: then no SDK is even loaded and no hook is installed, so tracing costs nothing.
 *
 * The provider is this app's own rather than the global one, so several apps in one process (as in
 * tests) each export to their own endpoint; spans are parented explicitly, with no context manager.
 */
export async function createTracing(config: Config): Promise<Tracing | undefined> {
  const endpoint = config.otelExporterOtlpEndpoint;
  if (endpoint === undefined) return undefined;

  const [{ BasicTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }] =
    await Promise.all([
      import("@opentelemetry/sdk-trace-base"),
      import("@opentelemetry/exporter-trace-otlp-http"),
      import("@opentelemetry/resources"),
    ]);
  const { W3CTraceContextPropagator } = await import("@opentelemetry/core");

  // OTEL_EXPORTER_OTLP_ENDPOINT is the collector's base URL; each signal has its own path under it.
  const tracesUrl = new URL(endpoint);
  tracesUrl.pathname = `${tracesUrl.pathname.replace(/\/+$/, "")}/v1/traces`;
  const url = tracesUrl.toString();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      "service.name": config.otelServiceName,
      "deployment.environment.name": config.environmentName,
    }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url }))],
  });
  const propagator: TextMapPropagator = new W3CTraceContextPropagator();

  return {
    tracer: provider.getTracer("llm-api-service"),
    tracesEndpoint: urlWithoutCredentials(url),
    extract: (headers) => propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter),
    inject(context) {
      const carrier: Record<string, string> = {};
      propagator.inject(context, carrier, defaultTextMapSetter);
      return carrier;
    },
    shutdown: () => provider.shutdown(),
  };
}
