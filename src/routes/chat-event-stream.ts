import type { FastifyReply, FastifyRequest } from "fastify";
import { openSseResponse, type SseWriter } from "../http/sse-writer.ts";
import type { ChatDependencies, StreamProtocol } from "./model-call.ts";

/**
 * `POST /chat/stream`: `event: meta` with the request id at once, a `data:` event per text delta,
 * `event: usage`, and `data: [DONE]` last; a failure is `event: error` then `data: [DONE]`.
 * A grounded chat sends `event: sources` (JSON) right after `meta`.
 */
export function chatEventStream(
  request: FastifyRequest,
  reply: FastifyReply,
  dependencies: ChatDependencies,
  sources?: readonly unknown[],
): StreamProtocol {
  let writer: SseWriter;
  return {
    open() {
      writer = openSseResponse(reply, {
        stallMs: dependencies.config.streamStallMs,
        pingMs: dependencies.config.streamPingMs,
      });
      writer.event("meta", `request_id=${request.id}`);
      if (sources !== undefined) writer.event("sources", JSON.stringify({ sources }));
    },
    text: (delta) => writer.data(delta),
    finish(result) {
      writer.event(
        "usage",
        JSON.stringify({
          prompt_tokens: result.usage.inputTokens,
          completion_tokens: result.usage.outputTokens,
          total_tokens: result.usage.totalTokens,
          finish_reason: result.finishReason,
        }),
      );
      writer.end("data: [DONE]\n\n");
    },
    fail(error) {
      writer.event("error", `${error.code}: ${error.message}`);
      writer.end("data: [DONE]\n\n");
    },
  };
}
