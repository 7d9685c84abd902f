import type { Context, Span } from "@opentelemetry/api";

/** What observability keeps about one HTTP request while it runs. */
export type RequestObservation = {
  readonly requestId: string;
  /** `performance.now()` when the request arrived. */
  readonly startTime: number;
  /** Seconds spent inside model calls, so the service's own share can be measured. */
  upstreamSeconds: number;
  modelCalls: number;
  /** The request's server span and its context, when traces are exported. */
  span: Span | undefined;
  traceContext: Context | undefined;
  /** The error code a 429/503 was answered with, for the rejected-requests metric. */
  rejectionReason: string | undefined;
};

/**
 * In-flight requests by request id. The chat layer reports model calls with a request id only, so
 * this is how a model call finds its request's trace context and adds its time to the request.
 */
export class InFlightRequests {
  readonly #byId = new Map<string, RequestObservation>();

  open(requestId: string, startTime: number): RequestObservation {
    const observation: RequestObservation = {
      requestId,
      startTime,
      upstreamSeconds: 0,
      modelCalls: 0,
      span: undefined,
      traceContext: undefined,
      rejectionReason: undefined,
    };
    this.#byId.set(requestId, observation);
    return observation;
  }

  get(requestId: string): RequestObservation | undefined {
    return this.#byId.get(requestId);
  }

  close(observation: RequestObservation): void {
    // A client may reuse its request id on concurrent requests: only the latest holder removes it.
    if (this.#byId.get(observation.requestId) === observation) this.#byId.delete(observation.requestId);
  }

  get size(): number {
    return this.#byId.size;
  }
}
