import type { FastifyReply } from "fastify";
import type { Config } from "../config.ts";
import { createResponseStream } from "../http/response-stream.ts";
import { openSseResponse } from "../http/sse-writer.ts";
import type { StreamProtocol } from "./reply-protocol.ts";

/** Where a streamed reply's bytes go, whatever the protocol. */
export type ReplyWriter = {
  /** A promise while the client's socket is full (see `createResponseStream`). */
  write(bytes: string): Promise<void> | undefined;
  end(bytes?: string): void;
};

const PLAIN_TEXT_HEADERS = {
  "content-type": "text/plain; charset=utf-8",
  "cache-control": "no-cache",
  "x-accel-buffering": "no",
} as const;

/** Starts the streamed response: its headers, the stall cut-off, and for SSE the pings. */
export function openReplyWriter(
  reply: FastifyReply,
  protocol: Pick<StreamProtocol, "transport" | "ping">,
  config: Pick<Config, "streamStallMs" | "streamPingMs">,
): ReplyWriter {
  if (protocol.transport === "sse") {
    const sse = openSseResponse(reply, {
      stallMs: config.streamStallMs,
      pingMs: config.streamPingMs,
      pingFrame: protocol.ping,
    });
    return { write: sse.frame, end: sse.end };
  }
  return createResponseStream(reply, { headers: PLAIN_TEXT_HEADERS, stallMs: config.streamStallMs });
}
