import type { FastifyReply, FastifyRequest } from "fastify";
import { createResponseStream, type ResponseStream } from "../http/response-stream.ts";
import type { ChatDependencies, StreamProtocol } from "./model-call.ts";

/**
 * `POST /chat/stream-text`: `[request_id=<id>]` on the first line, then the raw text as it
 * arrives; a failure appends `\n[ERROR] <type>: <message>\n`.
 */
export function chatTextStream(
  request: FastifyRequest,
  reply: FastifyReply,
  dependencies: ChatDependencies,
): StreamProtocol {
  let stream: ResponseStream;
  return {
    open() {
      stream = createResponseStream(reply, {
        headers: {
          "content-type": "text/plain; charset=utf-8",
          "cache-control": "no-cache",
          "x-accel-buffering": "no",
        },
        stallMs: dependencies.config.streamStallMs,
      });
      stream.write(`[request_id=${request.id}]\n`);
    },
    text: (delta) => stream.write(delta),
    finish() {
      stream.end();
    },
    fail(error) {
      stream.end(`\n[ERROR] ${error.code}: ${error.message}\n`);
    },
  };
}
