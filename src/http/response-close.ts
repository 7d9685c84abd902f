import type { ServerResponse } from "node:http";

const closeCallbacks = Symbol("closeCallbacks");

type WithCloseCallbacks = ServerResponse & { [closeCallbacks]?: Array<() => void> };

/**
 * Runs `callback` once when the response closes (finished, or cut short by the client), after the
 * callbacks registered before it. The request log line, the HTTP metrics and span, and the model
 * call's disconnect signal all wait for `close`; one listener serving all of them costs a request
 * less than one `once` wrapper each.
 */
export function onResponseClose(response: ServerResponse, callback: () => void): void {
  const target = response as WithCloseCallbacks;
  const callbacks = target[closeCallbacks];
  if (callbacks !== undefined) {
    callbacks.push(callback);
    return;
  }
  const registered = [callback];
  target[closeCallbacks] = registered;
  response.once("close", () => {
    for (const registeredCallback of registered) registeredCallback();
  });
}
