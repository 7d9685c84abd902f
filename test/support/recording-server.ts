import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { waitFor } from "./wait-for.ts";

export type RecordedRequest = { method: string; url: string; headers: IncomingHttpHeaders; body: string };

export type RecordingServer = {
  url: string;
  requests: RecordedRequest[];
  /** Resolves once `predicate` holds for the requests received, or rejects after `timeoutMs`. */
  waitFor(predicate: (requests: RecordedRequest[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
};

/**
 * A real local HTTP server that records every request (body gunzipped) and answers with `respond`:
 * it plays an OTLP collector or LangSmith in tests.
 */
export async function startRecordingServer(
  respond: (request: RecordedRequest) => { status?: number; body?: unknown } = () => ({}),
  /** A fixed port, when the test plays a service at its well-known address; any free one otherwise. */
  listenPort = 0,
): Promise<RecordingServer> {
  const requests: RecordedRequest[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      let raw = Buffer.concat(chunks);
      if (request.headers["content-encoding"] === "gzip") raw = gunzipSync(raw);
      const recorded = {
        method: request.method ?? "",
        url: request.url ?? "",
        headers: request.headers,
        body: raw.toString("utf8"),
      };
      requests.push(recorded);
      const answer = respond(recorded);
      response.writeHead(answer.status ?? 200, { "content-type": "application/json" });
      response.end(JSON.stringify(answer.body ?? {}));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listenPort, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    async waitFor(predicate, timeoutMs = 10_000) {
      await waitFor("the expected requests", () => predicate(requests), { timeoutMs }).catch(
        (error: Error) => {
          throw new Error(`${error.message}; received ${requests.length} requests`);
        },
      );
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
