import { sendError } from "../http/error-handler.ts";
import { openSseResponse, type SseWriter } from "../http/sse-writer.ts";
import type { ChatCompletionsUpstream } from "../llm/chat-completions-upstreams.ts";
import type { LlmCallEnd } from "../llm/llm-call-observer.ts";
import type { RelayedResult } from "../llm/read-chat-completion.ts";
import { relayCompletion } from "../llm/relay-completion.ts";
import { relayCompletionStream } from "../llm/relay-completion-stream.ts";
import { type ModelCallOptions, runModelCall, runStreamCall, upstreamLimits } from "./model-call.ts";
import { openAIErrorFrames } from "./openai-chunk-stream.ts";

export type RelayCallOptions = ModelCallOptions & {
  model: NonNullable<ModelCallOptions["model"]>;
  upstream: ChatCompletionsUpstream;
};

/**
 * `POST /v1/chat/completions` to a provider that speaks Chat Completions itself: the upstream's
 * JSON body is the answer, byte for byte. Answers undefined when the client left.
 */
export async function relayModelCall(options: RelayCallOptions): Promise<string | undefined> {
  return runModelCall(options, options.model, async (signal, handle) => {
    const { body, result } = await relayCompletion({
      upstream: options.upstream,
      body: upstreamBody(options, false),
      signal,
      handle,
      limits: upstreamLimits(options.dependencies.config),
    });
    return { value: body, end: successEnd(result) };
  });
}

/**
 * The streaming form: the upstream's `chat.completion.chunk` frames go to the client as they
 * arrive (see `relayCompletionStream`), inside a stream slot, with backpressure and the ping,
 * stall and failure handling of every other stream.
 */
export async function relayStreamModelCall(
  options: RelayCallOptions & { includeUsage: boolean },
): Promise<void> {
  const { request, reply, dependencies } = options;
  let writer: SseWriter | undefined;
  const start = (): SseWriter => {
    if (writer !== undefined) return writer;
    writer = openSseResponse(reply, {
      stallMs: dependencies.config.streamStallMs,
      pingMs: dependencies.config.streamPingMs,
    });
    return writer;
  };
  const fail = (error: Parameters<typeof sendError>[2]) => {
    if (writer === undefined) sendError(request, reply, error);
    else writer.end(openAIErrorFrames(request, error));
  };

  await runStreamCall(options, options.model, fail, async (signal, handle, progress) => {
    const result = await relayCompletionStream(
      {
        upstream: options.upstream,
        body: upstreamBody(options, true),
        includeUsage: options.includeUsage,
        signal,
        handle,
        limits: upstreamLimits(dependencies.config),
      },
      {
        text(delta) {
          progress.output += delta;
          handle.chunk();
        },
        frames: (frames) => start().frame(frames),
      },
    );
    start().end("data: [DONE]\n\n");
    return successEnd(result);
  });
}

/**
 * What the AI SDK path would send: the checked messages (developer as system, text parts joined)
 * and the supported parameters. Streams always ask for usage, so it can be counted.
 */
function upstreamBody(options: RelayCallOptions, stream: boolean): string {
  const { parameters } = options.input;
  return JSON.stringify({
    model: options.model.modelId,
    messages: options.input.messages,
    max_tokens: parameters.maxTokens,
    temperature: parameters.temperature,
    top_p: parameters.topP,
    stop: parameters.stop,
    stream: stream ? true : undefined,
    stream_options: stream ? { include_usage: true } : undefined,
  });
}

function successEnd(result: RelayedResult): LlmCallEnd {
  return {
    outcome: "success",
    responseModel: result.responseModel,
    finishReason: result.finishReason,
    inputTokens: result.usage?.inputTokens,
    outputTokens: result.usage?.outputTokens,
    output: result.text,
  };
}
