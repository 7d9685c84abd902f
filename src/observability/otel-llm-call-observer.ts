import { type Context, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import {
  type LlmCallEnd,
  type LlmCallHandle,
  type LlmCallObserver,
  type LlmCallStart,
  operationName,
} from "../llm/llm-call-observer.ts";
import type { InFlightRequests } from "./in-flight-requests.ts";
import type { Tracing } from "./tracing.ts";

/**
 * A client span per model call, named `<operation> <model>` (`chat gpt-4o-mini`) and carrying the OpenTelemetry GenAI
 * attributes, child of the request's server span. Its context goes upstream as `traceparent`.
 */
export function createOtelLlmCallObserver(tracing: Tracing, inFlight: InFlightRequests): LlmCallObserver {
  return {
    start(call: LlmCallStart): LlmCallHandle {
      const parent = inFlight.get(call.requestId)?.traceContext ?? ROOT_CONTEXT;
      const span = tracing.tracer.startSpan(
        `${operationName(call.kind)} ${call.model}`,
        { kind: SpanKind.CLIENT, attributes: startAttributes(call) },
        parent,
      );
      return new TracedCall(tracing, span, parent);
    },
  };
}

function startAttributes(call: LlmCallStart): Record<string, string | number | boolean | string[]> {
  const attributes: Record<string, string | number | boolean | string[]> = {
    "gen_ai.operation.name": operationName(call.kind),
    "gen_ai.provider.name": call.provider,
    "gen_ai.request.model": call.model,
    "request.id": call.requestId,
    "llm_api.endpoint_kind": call.kind,
    "llm_api.streaming": call.streaming,
  };
  const { parameters } = call;
  if (parameters.temperature !== undefined) attributes["gen_ai.request.temperature"] = parameters.temperature;
  if (parameters.maxTokens !== undefined) attributes["gen_ai.request.max_tokens"] = parameters.maxTokens;
  if (parameters.topP !== undefined) attributes["gen_ai.request.top_p"] = parameters.topP;
  if (parameters.stop !== undefined) attributes["gen_ai.request.stop_sequences"] = [...parameters.stop];
  if (parameters.topK !== undefined) attributes["gen_ai.request.top_k"] = parameters.topK;
  if (parameters.seed !== undefined) attributes["gen_ai.request.seed"] = parameters.seed;
  if (parameters.presencePenalty !== undefined) {
    attributes["gen_ai.request.presence_penalty"] = parameters.presencePenalty;
  }
  if (parameters.frequencyPenalty !== undefined) {
    attributes["gen_ai.request.frequency_penalty"] = parameters.frequencyPenalty;
  }
  if (parameters.tools !== undefined) attributes["llm_api.request.tools"] = parameters.tools.length;
  return attributes;
}

class TracedCall implements LlmCallHandle {
  readonly #tracing: Tracing;
  readonly #span: Span;
  readonly #parent: Context;
  #sawChunk = false;
  #ended = false;
  #headers: Record<string, string> | undefined;

  constructor(tracing: Tracing, span: Span, parent: Context) {
    this.#tracing = tracing;
    this.#span = span;
    this.#parent = parent;
  }

  chunk(): void {
    // Only the first chunk is marked: an event per chunk would cost an allocation each.
    if (this.#sawChunk) return;
    this.#sawChunk = true;
    this.#span.addEvent("gen_ai.first_chunk");
  }

  retry(reason: string): void {
    this.#span.addEvent("gen_ai.retry", { reason });
  }

  end(result: LlmCallEnd): void {
    if (this.#ended) return;
    this.#ended = true;
    const span = this.#span;
    if (result.responseModel !== undefined) span.setAttribute("gen_ai.response.model", result.responseModel);
    if (result.inputTokens !== undefined) span.setAttribute("gen_ai.usage.input_tokens", result.inputTokens);
    if (result.outputTokens !== undefined)
      span.setAttribute("gen_ai.usage.output_tokens", result.outputTokens);
    if (result.finishReason !== undefined) {
      span.setAttribute("gen_ai.response.finish_reasons", [result.finishReason]);
    }
    if (result.cachedInputTokens !== undefined) {
      span.setAttribute("gen_ai.usage.cache_read.input_tokens", result.cachedInputTokens);
    }
    if (result.toolCalls !== undefined) span.setAttribute("llm_api.response.tool_calls", result.toolCalls);
    if (result.deployment !== undefined) span.setAttribute("llm_api.deployment", result.deployment);
    if (result.attempts !== undefined) span.setAttribute("llm_api.attempts", result.attempts);
    if (result.outcome !== "success") {
      const errorType =
        result.outcome === "client_disconnected" ? "client_disconnected" : (result.errorType ?? "_OTHER");
      span.setAttribute("error.type", errorType);
      span.setStatus({ code: SpanStatusCode.ERROR, message: errorType });
    }
    span.end();
  }

  upstreamHeaders(): Record<string, string> {
    this.#headers ??= this.#tracing.inject(trace.setSpan(this.#parent, this.#span));
    return this.#headers;
  }
}
