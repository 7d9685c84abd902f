import type { FastifyReply, FastifyRequest } from "fastify";
import type { ServiceError } from "../errors/service-error.ts";
import { errorBody } from "../http/error-body.ts";
import { sendError } from "../http/error-handler.ts";
import { openSseResponse, type SseWriter } from "../http/sse-writer.ts";
import type { FinishReason, TokenUsage } from "../llm/completion-request.ts";
import type { ChatDependencies, StreamProtocol } from "./model-call.ts";

export type OpenAIChunkStreamOptions = {
  id: string;
  created: number;
  model: string;
  includeUsage: boolean;
};

/**
 * `POST /v1/chat/completions` with `stream: true`: `chat.completion.chunk` events, a role chunk,
 * a finish chunk, the usage chunk when asked for, then `data: [DONE]`.
 *
 * Nothing is sent before the model's first delta, so a failure before it (after our retries) is
 * still an HTTP error that OpenAI clients raise as their `APIError`.
 */
export function openAIChunkStream(
  request: FastifyRequest,
  reply: FastifyReply,
  dependencies: ChatDependencies,
  options: OpenAIChunkStreamOptions,
): StreamProtocol {
  // Every chunk shares this head; only the delta changes, so build it once.
  const head = `data: {"id":${JSON.stringify(options.id)},"object":"chat.completion.chunk","created":${options.created},"model":${JSON.stringify(options.model)},"system_fingerprint":null,"choices":`;
  let writer: SseWriter | undefined;

  const start = (): SseWriter => {
    if (writer !== undefined) return writer;
    writer = openSseResponse(reply, {
      stallMs: dependencies.config.streamStallMs,
      pingMs: dependencies.config.streamPingMs,
    });
    writer.frame(
      `${head}[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n`,
    );
    return writer;
  };

  return {
    open() {},
    text(delta) {
      return start().frame(
        `${head}[{"index":0,"delta":{"content":${JSON.stringify(delta)}},"logprobs":null,"finish_reason":null}]}\n\n`,
      );
    },
    finish(result) {
      const sse = start();
      let frames = `${head}[{"index":0,"delta":{},"logprobs":null,"finish_reason":"${openAIFinishReason(result.finishReason)}"}]}\n\n`;
      if (options.includeUsage)
        frames += `${head}[],"usage":${JSON.stringify(openAIUsage(result.usage))}}\n\n`;
      sse.end(`${frames}data: [DONE]\n\n`);
    },
    fail(error) {
      if (writer === undefined) {
        sendError(request, reply, error);
        return;
      }
      writer.end(openAIErrorFrames(request, error));
    },
  };
}

/** How a `/v1` stream ends after a failure: a `data:` frame with OpenAI's `error` object, then `[DONE]`. */
export function openAIErrorFrames(request: FastifyRequest, error: ServiceError): string {
  return `data: ${JSON.stringify(errorBody(request, error))}\n\ndata: [DONE]\n\n`;
}

export function openAIFinishReason(reason: FinishReason): string {
  return reason === "other" ? "stop" : reason;
}

export function openAIUsage(usage: TokenUsage) {
  return {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.totalTokens,
  };
}
