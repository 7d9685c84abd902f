import type { ReplyContext, StreamProtocol } from "../reply-protocol.ts";

/**
 * `POST /chat/stream-text`: `[request_id=<id>]` on the first line, then the raw text as it
 * arrives; a failure appends `\n[ERROR] <type>: <message>\n`.
 */
export function seedTextProtocol(context: ReplyContext): StreamProtocol {
  return {
    transport: "text",
    opensEarly: true,
    wireFormat: undefined,
    start: () => `[request_id=${context.requestId}]\n`,
    text: (delta) => delta,
    finish: () => "",
    error: (error) => `\n[ERROR] ${error.code}: ${error.message}\n`,
  };
}
