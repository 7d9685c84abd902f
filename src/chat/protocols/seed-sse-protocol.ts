import { formatSseData } from "../../http/sse-writer.ts";
import type { ReplyContext, StreamProtocol } from "../reply-protocol.ts";
import { sourceBody } from "./source-body.ts";
import { usageBody } from "./usage-body.ts";

const DONE = "data: [DONE]\n\n";

/**
 * `POST /chat/stream`: `event: meta` with the request id at once, a `data:` event per text delta,
 * `event: usage`, and `data: [DONE]` last; a failure is `event: error` then `data: [DONE]`.
 * A grounded chat sends `event: sources` (JSON) right after `meta`.
 */
export function seedSseProtocol(context: ReplyContext): StreamProtocol {
  return {
    transport: "sse",
    opensEarly: true,
    wireFormat: undefined,
    start() {
      const meta = sseEvent("meta", `request_id=${context.requestId}`);
      if (context.sources === undefined) return meta;
      return meta + sseEvent("sources", JSON.stringify({ sources: context.sources.map(sourceBody) }));
    },
    text: formatSseData,
    finish: (outcome) =>
      sseEvent(
        "usage",
        JSON.stringify({ ...usageBody(outcome.usage), finish_reason: outcome.finishReason }),
      ) + DONE,
    error: (error) => sseEvent("error", `${error.code}: ${error.message}`) + DONE,
  };
}

function sseEvent(name: string, text: string): string {
  return `event: ${name}\n${formatSseData(text)}`;
}
