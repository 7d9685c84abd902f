/**
 * The least a Node relay can do: plain node:http in front of one shared undici pool to the fake
 * upstream, with no parsing, hooks or logging. Its added latency is the floor any relay shows on
 * this machine (a second process, two more socket hops), so the service's added latency is read
 * next to it rather than next to zero.
 *
 *   node bench/bare-relay.ts --port 9003 --upstream http://127.0.0.1:9001
 *
 * `POST /v1/chat/completions` goes to the upstream's same path; its status, `content-type` and body
 * come back as they arrive, so a streamed answer is relayed chunk by chunk too.
 */
import http from "node:http";
import { pipeline } from "node:stream";
import { parseArgs } from "node:util";
import { Pool } from "undici";

const completionsPath = "/v1/chat/completions";

export function buildBareRelay(upstreamOrigin: string): http.Server {
  // Keep-alive connections shared by every request, as the service's relay has; no undici timeouts,
  // so the fake upstream's slow scenarios are never cut short here.
  const pool = new Pool(upstreamOrigin, { headersTimeout: 0, bodyTimeout: 0 });
  return http.createServer((request, response) => {
    if (request.method !== "POST" || request.url !== completionsPath) {
      response.writeHead(404).end();
      return;
    }
    const parts: Buffer[] = [];
    request.on("data", (part: Buffer) => parts.push(part));
    request.on("end", () => {
      pool
        .request({
          method: "POST",
          path: completionsPath,
          headers: { "content-type": "application/json" },
          body: Buffer.concat(parts),
        })
        .then(
          (upstream) => {
            // wrk drops its connections mid-request when its time is up: free the pooled socket
            // (destroying the body reports an abort error, which is expected here).
            if (response.destroyed) {
              upstream.body.on("error", () => {}).destroy();
              return;
            }
            const { "content-type": contentType, "content-length": contentLength } = upstream.headers;
            if (contentType !== undefined) response.setHeader("content-type", contentType);
            // Passed on when the upstream sent one, so a JSON answer is not re-framed as chunked.
            if (contentLength !== undefined) response.setHeader("content-length", contentLength);
            response.writeHead(upstream.statusCode);
            // pipeline also destroys the upstream body when the client leaves mid-stream.
            pipeline(upstream.body, response, () => {});
          },
          () => {
            if (!response.headersSent) response.writeHead(502);
            response.end();
          },
        );
    });
  });
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: process.env.PORT ?? "9003" },
      host: { type: "string", default: "127.0.0.1" },
      upstream: { type: "string", default: "http://127.0.0.1:9001" },
    },
  });
  const server = buildBareRelay(values.upstream);
  server.listen({ port: Number(values.port), host: values.host }, () => {
    process.stdout.write(
      `${JSON.stringify({ event: "listening", port: Number(values.port), pid: process.pid })}\n`,
    );
  });
  process.on("SIGTERM", () => process.exit(0));
}
