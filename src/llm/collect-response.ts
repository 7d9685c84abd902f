import type { IncomingHttpHeaders } from "node:http";
import type { Dispatcher } from "undici";

export type CollectedResponse = {
  statusCode: number;
  headers: IncomingHttpHeaders;
  /** The whole body, decoded as UTF-8. */
  body: string;
};

/**
 * undici's `request()` without its body stream: the answer's chunks are gathered as they arrive
 * and handed over whole. For a small JSON answer the Readable that `request()` builds per call,
 * and the stream events it runs through, cost more than the answer itself.
 *
 * Rejects with the connection's error, or with the signal's reason once it aborts.
 */
export function collectResponse(
  dispatcher: Dispatcher,
  options: Dispatcher.DispatchOptions,
  signal: AbortSignal,
): Promise<CollectedResponse> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    let controller: Dispatcher.DispatchController | undefined;
    let statusCode = 0;
    let headers: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    // An abort before undici started the request is applied as soon as it does.
    const onAbort = () => controller?.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    const settle = () => signal.removeEventListener("abort", onAbort);

    dispatcher.dispatch(options, {
      onRequestStart(requestController) {
        controller = requestController;
        if (signal.aborted) requestController.abort(signal.reason);
      },
      onResponseStart(_controller, status, responseHeaders) {
        // 1xx answers come before the real one.
        if (status < 200) return;
        statusCode = status;
        headers = responseHeaders;
      },
      onResponseData(_controller, chunk) {
        chunks.push(chunk);
      },
      onResponseEnd() {
        settle();
        resolve({ statusCode, headers, body: Buffer.concat(chunks).toString("utf8") });
      },
      onResponseError(_controller, error) {
        settle();
        reject(signal.aborted ? signal.reason : error);
      },
    });
  });
}
