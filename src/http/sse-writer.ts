import type { FastifyReply } from "fastify";
import { createResponseStream, type ResponseStream } from "./response-stream.ts";

export const SSE_HEADERS = {
  "content-type": "text/event-stream",
  "cache-control": "no-cache",
  // nginx would otherwise buffer the stream and deliver it in one piece.
  "x-accel-buffering": "no",
} as const;

export type SseWriter = {
  /** One event whose data is `text`, exactly as a spec-compliant parser will rebuild it. */
  data(text: string): Promise<void> | undefined;
  event(name: string, text: string): Promise<void> | undefined;
  /** A frame already in SSE form (ending in a blank line). */
  frame(frame: string): Promise<void> | undefined;
  /** The last write: stops the pings. */
  end(last?: string): void;
};

/** Starts an SSE response on `reply`: its headers, the stall cut-off and the pings. */
export function openSseResponse(
  reply: FastifyReply,
  options: { stallMs: number; pingMs: number; pingFrame?: string },
): SseWriter {
  const stream = createResponseStream(reply, { headers: SSE_HEADERS, stallMs: options.stallMs });
  return createSseWriter(stream, { pingMs: options.pingMs, pingFrame: options.pingFrame });
}

/**
 * Server-Sent Events over a response stream, with a `: ping` comment (or `pingFrame`, for a
 * format with its own) whenever nothing else has been sent for `pingMs`, so proxies and clients
 * do not time an idle stream out.
 */
export function createSseWriter(
  stream: ResponseStream,
  options: { pingMs: number; pingFrame?: string },
): SseWriter {
  const pingFrame = options.pingFrame ?? ": ping\n\n";
  const ping = setTimeout(function sendPing() {
    if (stream.closed) return;
    // A client that has not taken what it was sent is not idle: a ping would only pile up.
    if (!stream.full) stream.write(pingFrame);
    ping.refresh();
  }, options.pingMs);
  ping.unref();

  const send = (frame: string) => {
    ping.refresh();
    return stream.write(frame);
  };
  return {
    data: (text) => send(formatSseData(text)),
    event: (name, text) => send(`event: ${name}\n${formatSseData(text)}`),
    frame: send,
    end(last) {
      clearTimeout(ping);
      stream.end(last);
    },
  };
}

/**
 * A `data:` line per line of `text`: the parser joins them with LF, so newlines survive. SSE has
 * no way to carry a bare CR, so CR and CRLF arrive as LF.
 */
export function formatSseData(text: string): string {
  if (text.indexOf("\n") === -1 && text.indexOf("\r") === -1) return `data: ${text}\n\n`;
  return `data: ${text.split(/\r\n|\r|\n/).join("\ndata: ")}\n\n`;
}
