/**
 * A fake OpenAI Chat Completions upstream: the baseline every figure is a ratio to. It is a
 * separate process on plain node:http with every byte precomputed, so that it costs as little as
 * possible and the service, not the fake, is what a run measures.
 *
 *   node bench/fake-upstream.ts --port 9001 --chunks 20 --interval-ms 10 --first-chunk-delay-ms 0
 *
 * The stream shape can also be changed at run time (`POST /_bench/config`), so one process serves
 * every scenario and the targets in front of it stay warm; `GET /_bench/stats` counts open streams
 * and `POST /_bench/reset` closes them all.
 */
import http from "node:http";
import { parseArgs } from "node:util";

export type StreamShape = {
  /** Content chunks per streamed answer (and words in a JSON answer). */
  chunks: number;
  /** Milliseconds between two chunks. */
  intervalMs: number;
  /** Milliseconds before the first chunk, or before the whole JSON answer. */
  firstChunkDelayMs: number;
};

export const defaultStreamShape: StreamShape = { chunks: 20, intervalMs: 10, firstChunkDelayMs: 0 };

type Frames = {
  json: Buffer;
  /** One frame per chunk; the first also carries the assistant role, as OpenAI's does. */
  chunks: Buffer[];
  /** The finish frame, then `[DONE]`; `withUsage` adds the usage frame `include_usage` asks for. */
  end: Buffer;
  endWithUsage: Buffer;
};

const model = "bench-model";
const word = "lorem ";

export function precomputeFrames(shape: StreamShape): Frames {
  const created = Math.floor(Date.now() / 1000);
  const base = {
    id: "chatcmpl-bench",
    object: "chat.completion.chunk",
    created,
    model,
    system_fingerprint: null,
  };
  const usage = { prompt_tokens: 8, completion_tokens: shape.chunks, total_tokens: 8 + shape.chunks };
  const frame = (body: unknown): string => `data: ${JSON.stringify(body)}\n\n`;
  const chunks: Buffer[] = [];
  for (let index = 0; index < shape.chunks; index++) {
    const delta = index === 0 ? { role: "assistant", content: word } : { content: word };
    chunks.push(
      Buffer.from(frame({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: null }] })),
    );
  }
  const finish = frame({
    ...base,
    choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }],
  });
  const usageFrame = frame({ ...base, choices: [], usage });
  const json = JSON.stringify({
    id: "chatcmpl-bench",
    object: "chat.completion",
    created,
    model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: word.repeat(shape.chunks), refusal: null },
        logprobs: null,
        finish_reason: "stop",
      },
    ],
    usage,
    system_fingerprint: null,
  });
  return {
    json: Buffer.from(json),
    chunks,
    end: Buffer.from(`${finish}data: [DONE]\n\n`),
    endWithUsage: Buffer.from(`${finish}${usageFrame}data: [DONE]\n\n`),
  };
}

export type FakeUpstream = { server: http.Server; stats: () => FakeUpstreamStats };
export type FakeUpstreamStats = { pid: number; openStreams: number; requests: number; shape: StreamShape };

export function createFakeUpstream(initialShape: StreamShape = defaultStreamShape): FakeUpstream {
  let shape = initialShape;
  let frames = precomputeFrames(shape);
  let openStreams = 0;
  let requests = 0;
  const streams = new Set<http.ServerResponse>();

  const sendJson = (response: http.ServerResponse, body: Buffer, status = 200): void => {
    response.writeHead(status, { "content-type": "application/json", "content-length": body.length });
    response.end(body);
  };

  const stream = (response: http.ServerResponse, withUsage: boolean): void => {
    // Captured per stream: a shape change mid-stream must not mix two shapes in one answer.
    const current = frames;
    const { intervalMs, firstChunkDelayMs } = shape;
    response.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      connection: "keep-alive",
    });
    response.flushHeaders();
    openStreams++;
    const startedAt = performance.now();
    let next = 0;
    let timer: NodeJS.Timeout | undefined;
    const writeNext = (): void => {
      if (next === current.chunks.length - 1 || current.chunks.length === 0) {
        if (current.chunks.length > 0) response.write(current.chunks[next]);
        response.end(withUsage ? current.endWithUsage : current.end);
        return;
      }
      response.write(current.chunks[next]);
      next++;
      // Scheduled against the start, so timer lateness does not add up over a long stream.
      const due = startedAt + firstChunkDelayMs + next * intervalMs;
      timer = setTimeout(writeNext, Math.max(0, due - performance.now()));
    };
    streams.add(response);
    response.on("close", () => {
      clearTimeout(timer);
      streams.delete(response);
      openStreams--;
    });
    if (firstChunkDelayMs === 0) writeNext();
    else timer = setTimeout(writeNext, firstChunkDelayMs);
  };

  const server = http.createServer((request, response) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (part: string) => {
      body += part;
    });
    request.on("end", () => {
      const url = request.url ?? "/";
      if (request.method === "POST" && url.endsWith("/chat/completions")) {
        requests++;
        // A regular expression instead of JSON.parse: the fake must stay cheaper than what it measures.
        if (/"stream"\s*:\s*true/.test(body)) {
          stream(response, /"include_usage"\s*:\s*true/.test(body));
        } else if (shape.firstChunkDelayMs > 0) {
          const json = frames.json;
          setTimeout(() => sendJson(response, json), shape.firstChunkDelayMs);
        } else {
          sendJson(response, frames.json);
        }
      } else if (request.method === "POST" && url === "/_bench/config") {
        shape = { ...shape, ...(JSON.parse(body) as Partial<StreamShape>) };
        frames = precomputeFrames(shape);
        sendJson(response, Buffer.from(JSON.stringify(shape)));
      } else if (request.method === "POST" && url === "/_bench/reset") {
        // Streams a target failed to cancel would otherwise wait out a ten-minute first-chunk delay.
        const closed = streams.size;
        for (const open of streams) open.destroy();
        sendJson(response, Buffer.from(JSON.stringify({ closed })));
      } else if (request.method === "GET" && url === "/_bench/stats") {
        sendJson(response, Buffer.from(JSON.stringify(stats())));
      } else {
        const error = { error: { message: `no route ${request.method} ${url}`, type: "not_found" } };
        sendJson(response, Buffer.from(JSON.stringify(error)), 404);
      }
    });
  });
  // Idle streams wait minutes for their first chunk; load generators keep connections for a whole run.
  server.requestTimeout = 0;
  server.keepAliveTimeout = 120_000;

  const stats = (): FakeUpstreamStats => ({ pid: process.pid, openStreams, requests, shape });
  return { server, stats };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: process.env.PORT ?? "9001" },
      host: { type: "string", default: "127.0.0.1" },
      chunks: { type: "string", default: String(defaultStreamShape.chunks) },
      "interval-ms": { type: "string", default: String(defaultStreamShape.intervalMs) },
      "first-chunk-delay-ms": { type: "string", default: String(defaultStreamShape.firstChunkDelayMs) },
    },
  });
  const upstream = createFakeUpstream({
    chunks: Number(values.chunks),
    intervalMs: Number(values["interval-ms"]),
    firstChunkDelayMs: Number(values["first-chunk-delay-ms"]),
  });
  upstream.server.listen({ port: Number(values.port), host: values.host, backlog: 4096 }, () => {
    const address = upstream.server.address() as { port: number };
    process.stdout.write(`${JSON.stringify({ event: "listening", port: address.port, pid: process.pid })}\n`);
  });
  process.on("SIGTERM", () => process.exit(0));
}
