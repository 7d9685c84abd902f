import { parentPort } from "node:worker_threads";
import type { ErrorCode } from "../errors/error-codes.ts";
import { isServiceError, ServiceError } from "../errors/service-error.ts";
import { SourceError, type SourceErrorCode } from "./source-error.ts";

/** What the pool sends a thread: one call. */
export type WorkerRequest = { id: number; method: string; args: readonly unknown[] };

/**
 * A failure as it crosses threads. Structured cloning keeps no class, so the errors callers act on
 * (a ServiceError's code and Retry-After, a SourceError's code) travel as plain fields and are
 * rebuilt on the other side; anything else arrives as a plain Error with its message.
 */
export type WorkerFailure = {
  kind: "service" | "source" | "other";
  message: string;
  code?: ErrorCode;
  retryAfterSeconds?: number;
  stack?: string;
};

/** What a thread answers: the call's value, or its failure. */
export type WorkerReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: WorkerFailure };

export type WorkerHandlers = Record<string, (...args: never[]) => unknown>;

/** The worker side: answers each request with its handler's result, one at a time. */
export function serveWorkerRequests(handlers: WorkerHandlers): void {
  if (parentPort === null) throw new Error("serveWorkerRequests runs in a worker thread");
  const port = parentPort;
  port.on("message", async (request: WorkerRequest) => {
    let reply: WorkerReply;
    try {
      const handler = handlers[request.method];
      if (handler === undefined) throw new Error(`no worker handler named ${request.method}`);
      const value = await (handler as (...args: readonly unknown[]) => unknown)(...request.args);
      reply = { id: request.id, ok: true, value };
    } catch (error) {
      reply = { id: request.id, ok: false, error: toWorkerFailure(error) };
    }
    port.postMessage(reply);
  });
}

function toWorkerFailure(error: unknown): WorkerFailure {
  if (isServiceError(error)) {
    return {
      kind: "service",
      code: error.code,
      message: error.message,
      retryAfterSeconds: error.retryAfterSeconds,
    };
  }
  if (error instanceof SourceError) return { kind: "source", code: error.code, message: error.message };
  const message = error instanceof Error ? error.message : String(error);
  return { kind: "other", message, stack: error instanceof Error ? error.stack : undefined };
}

/** The main thread's copy of a worker's failure. */
export function reviveWorkerError(failure: WorkerFailure): Error {
  if (failure.kind === "service" && failure.code !== undefined) {
    return new ServiceError({
      code: failure.code,
      message: failure.message,
      retryAfterSeconds: failure.retryAfterSeconds,
    });
  }
  if (failure.kind === "source" && failure.code !== undefined) {
    return new SourceError({ code: failure.code as SourceErrorCode, message: failure.message });
  }
  const error = new Error(failure.message);
  if (failure.stack) error.stack = failure.stack;
  return error;
}
