import type { OutgoingHttpHeaders } from "node:http";
import type { FastifyReply } from "fastify";

export type ResponseStreamOptions = {
  headers: OutgoingHttpHeaders;
  /** `STREAM_STALL_MS`: a client that takes nothing for this long is cut. */
  stallMs: number;
};

export type ResponseStream = {
  /**
   * Writes at once. Returns a promise when the socket's buffer is full: it settles once the client
   * has taken the bytes, or when the connection is gone, so the caller reads no further upstream.
   */
  write(chunk: string): Promise<void> | undefined;
  end(chunk?: string): void;
  /** True when the client was cut for not reading. */
  readonly stalled: boolean;
  /** True once the response ended or the connection is gone. */
  readonly closed: boolean;
  /** True while the socket's buffer is full and the client has not taken it yet. */
  readonly full: boolean;
};

/**
 * Takes the response over from Fastify (whose own serialisation would buffer) and writes the
 * status line and headers at once, including those hooks already set (`x-request-id`).
 */
export function createResponseStream(reply: FastifyReply, options: ResponseStreamOptions): ResponseStream {
  reply.hijack();
  const response = reply.raw;
  response.writeHead(200, { ...(reply.getHeaders() as OutgoingHttpHeaders), ...options.headers });
  let stalled = false;

  const waitForDrain = () =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        stalled = true;
        // Cutting the socket fires `close`, which aborts the upstream call.
        response.destroy();
      }, options.stallMs);
      const settle = () => {
        clearTimeout(timer);
        response.off("drain", settle);
        response.off("close", settle);
        resolve();
      };
      response.on("drain", settle);
      response.on("close", settle);
    });

  return {
    write(chunk) {
      if (response.destroyed || response.writableEnded) return undefined;
      return response.write(chunk) ? undefined : waitForDrain();
    },
    end(chunk) {
      if (response.destroyed || response.writableEnded) return;
      response.end(chunk);
    },
    get stalled() {
      return stalled;
    },
    get closed() {
      return response.destroyed || response.writableEnded;
    },
    get full() {
      return response.writableNeedDrain;
    },
  };
}
