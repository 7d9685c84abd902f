import type { FastifyReply, FastifyRequest } from "fastify";
import type { Config } from "../config.ts";
import { ServiceError } from "../errors/service-error.ts";
import { watchClientDisconnect } from "../http/client-disconnect.ts";
import { routeLabel } from "../http/route-label.ts";
import type { StreamSlots } from "../http/stream-slots.ts";
import { toServiceError } from "../http/to-service-error.ts";
import { type ChatInput, checkChatLimits } from "../llm/chat-input.ts";
import type { CompletionRequest, CompletionResult, UpstreamLimits } from "../llm/completion-request.ts";
import { generateCompletion } from "../llm/generate-completion.ts";
import type { LlmCallEnd, LlmCallHandle, LlmCallKind, LlmCallObserver } from "../llm/llm-call-observer.ts";
import type { ModelRegistry, ResolvedModel } from "../llm/model-registry.ts";
import { streamCompletion } from "../llm/stream-completion.ts";

/** What the chat routes need from the app. */
export type ChatDependencies = {
  config: Config;
  modelRegistry: ModelRegistry;
  llmCallObserver: LlmCallObserver;
  streamSlots: StreamSlots;
};

export type ModelCallOptions = {
  dependencies: ChatDependencies;
  request: FastifyRequest;
  reply: FastifyReply;
  kind: LlmCallKind;
  input: ChatInput;
  /** The model, when the route already ran `prepareModelCall` to choose a path. */
  model?: ResolvedModel;
};

/** How one endpoint frames a streamed reply. */
export type StreamProtocol = {
  /** Before the model is called: send what must go out at once (headers, a first frame), or nothing. */
  open(): void;
  text(delta: string): Promise<void> | undefined;
  finish(result: CompletionResult): void;
  /** The call failed: an HTTP error if nothing was sent yet, else the protocol's error frame. */
  fail(error: ServiceError): void;
};

/**
 * A non-streaming model call for a route: checks, observes, and stops the upstream call when the
 * client leaves (then answers undefined, as there is no one left to answer).
 */
export async function generateModelCall(
  options: ModelCallOptions,
): Promise<{ model: ResolvedModel; result: CompletionResult & { text: string } } | undefined> {
  const model = options.model ?? prepareModelCall(options);
  return runModelCall(options, model, async (signal, handle) => {
    const result = await generateCompletion(completionRequest(options, model, signal, handle));
    return {
      value: { model, result },
      end: {
        outcome: "success",
        responseModel: result.responseModel,
        finishReason: result.finishReason,
        inputTokens: result.usage.inputTokens,
        outputTokens: result.usage.outputTokens,
        output: result.text,
      },
    };
  });
}

/**
 * Runs the upstream part of a non-streaming call with the client-disconnect signal and the
 * observer's handle, and ends the observation exactly once. Answers undefined when the client left.
 */
export async function runModelCall<T>(
  options: ModelCallOptions,
  model: ResolvedModel,
  call: (signal: AbortSignal, handle: LlmCallHandle) => Promise<{ value: T; end: LlmCallEnd }>,
): Promise<T | undefined> {
  const signal = watchClientDisconnect(options.reply.raw);
  const handle = startCall(options, model, false);
  try {
    const { value, end } = await call(signal, handle);
    handle.chunk();
    handle.end(end);
    return value;
  } catch (error) {
    if (signal.aborted) {
      handle.end({ outcome: "client_disconnected", output: "" });
      options.reply.hijack();
      return undefined;
    }
    const serviceError = toServiceError(error);
    handle.end({ outcome: "error", errorType: serviceError.code, output: "" });
    throw serviceError;
  }
}

/**
 * A streaming model call: takes a stream slot, lets `protocol` frame the reply, and always ends
 * the stream (a failure after the first byte is an error frame) and frees the slot.
 */
export async function streamModelCall(
  options: ModelCallOptions & { protocol: StreamProtocol },
): Promise<void> {
  const { protocol } = options;
  const model = options.model ?? prepareModelCall(options);
  await runStreamCall(options, model, protocol.fail, async (signal, handle, progress) => {
    protocol.open();
    const result = await streamCompletion(completionRequest(options, model, signal, handle), (delta) => {
      progress.output += delta;
      handle.chunk();
      return protocol.text(delta);
    });
    protocol.finish(result);
    return {
      outcome: "success",
      responseModel: result.responseModel,
      finishReason: result.finishReason,
      inputTokens: result.usage.inputTokens,
      outputTokens: result.usage.outputTokens,
      output: progress.output,
    };
  });
}

/** What a stream has produced so far, so a failure still reports the partial output. */
export type StreamProgress = { output: string };

/**
 * Runs the upstream part of a streaming call inside a stream slot, with the client-disconnect
 * signal and the observer's handle. On failure `fail` answers the client (an HTTP error before the
 * first byte, an error frame after); the observation ends exactly once and the slot is freed on
 * every path.
 */
export async function runStreamCall(
  options: ModelCallOptions,
  model: ResolvedModel,
  fail: (error: ServiceError) => void,
  call: (signal: AbortSignal, handle: LlmCallHandle, progress: StreamProgress) => Promise<LlmCallEnd>,
): Promise<void> {
  const { dependencies, request, reply } = options;
  const release = dependencies.streamSlots.tryAcquire();
  if (release === undefined) {
    throw new ServiceError({
      code: "TOO_MANY_STREAMS",
      message: `This instance is serving its limit of ${dependencies.streamSlots.limit} streams; retry shortly.`,
      retryAfterSeconds: 1,
    });
  }
  const signal = watchClientDisconnect(reply.raw);
  const handle = startCall(options, model, true);
  const progress: StreamProgress = { output: "" };
  try {
    handle.end(await call(signal, handle, progress));
  } catch (error) {
    if (signal.aborted) {
      handle.end({ outcome: "client_disconnected", output: progress.output });
      // Nothing can be sent any more; keep Fastify from trying.
      if (!reply.sent) reply.hijack();
      return;
    }
    const serviceError = toServiceError(error);
    const logLevel = serviceError.code === "INTERNAL_ERROR" ? "error" : "warn";
    request.log[logLevel](
      { err: serviceError.cause ?? serviceError, code: serviceError.code },
      "model call failed",
    );
    fail(serviceError);
    handle.end({ outcome: "error", errorType: serviceError.code, output: progress.output });
  } finally {
    release();
  }
}

/** `MAX_MESSAGES` and friends, then the model: before a slot is taken or anything is sent. */
export function prepareModelCall(options: ModelCallOptions): ResolvedModel {
  checkChatLimits(options.input, options.dependencies.config);
  return options.dependencies.modelRegistry.resolve(options.input.model);
}

function startCall(options: ModelCallOptions, model: ResolvedModel, streaming: boolean): LlmCallHandle {
  const { request, input } = options;
  return options.dependencies.llmCallObserver.start({
    requestId: request.id,
    kind: options.kind,
    path: routeLabel(request),
    method: request.method,
    provider: model.provider,
    model: model.modelId,
    streaming,
    messages: input.messages,
    parameters: input.parameters,
  });
}

function completionRequest(
  options: ModelCallOptions,
  model: ResolvedModel,
  signal: AbortSignal,
  handle: LlmCallHandle,
): CompletionRequest {
  return {
    model,
    messages: options.input.messages,
    parameters: options.input.parameters,
    signal,
    handle,
    limits: upstreamLimits(options.dependencies.config),
  };
}

export function upstreamLimits(config: Config): UpstreamLimits {
  return {
    timeoutMs: config.llmTimeoutMs,
    idleTimeoutMs: config.llmIdleTimeoutMs,
    maxRetries: config.llmMaxRetries,
  };
}
