import { type ClientRequest, request as httpRequest } from "node:http";

/**
 * POSTs `body` as JSON and takes the first bytes of the answer, then never reads again: the
 * client a slow-reader test needs. Destroy the request when done.
 */
export function startStalledReader(url: string, body: unknown): ClientRequest {
  const clientRequest = httpRequest(new URL(url), {
    method: "POST",
    headers: { "content-type": "application/json" },
  });
  clientRequest.on("error", () => {});
  clientRequest.on("response", (response) => {
    response.on("error", () => {});
    response.once("data", () => response.pause());
  });
  clientRequest.end(JSON.stringify(body));
  return clientRequest;
}
