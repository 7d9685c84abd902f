import type { ServerResponse } from "node:http";
import { onResponseClose } from "./response-close.ts";

/** The abort reason when the client went away before its response was complete. */
export class ClientDisconnectedError extends Error {
  constructor() {
    super("The client disconnected before the response was complete.");
    this.name = "ClientDisconnectedError";
  }
}

/**
 * An abort signal that fires when the client disconnects before the response finished.
 * Fastify's `request.signal` aborts as soon as a POST body has been read, so watch the response
 * socket's `close` instead: after a complete response `writableFinished` is already true.
 *
 * Pass a `controller` to abort the same signal for other reasons too (a shutdown).
 */
export function watchClientDisconnect(
  response: ServerResponse,
  controller: AbortController = new AbortController(),
): AbortSignal {
  onResponseClose(response, () => {
    if (!response.writableFinished) controller.abort(new ClientDisconnectedError());
  });
  return controller.signal;
}
