import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { waitFor } from "./wait-for.ts";

/** What the fake does with one request. Every request takes the next script; the last one repeats. */
export type UpstreamScript = {
  /** The reply, as the text deltas it streams (a JSON reply joins them). */
  deltas?: readonly string[];
  /** Before the first chunk (streams) or the whole reply (JSON); headers go out at once on streams. */
  firstChunkDelayMs?: number;
  /** Between two deltas. */
  chunkDelayMs?: number;
  /** After this many deltas, send nothing more and keep the connection open. */
  stallAfter?: number;
  /** After this many deltas, destroy the socket. */
  dieAfter?: number;
  /**
   * With `dieAfter`, wait this long first, so what was written reaches the caller before the
   * connection goes (an error right behind the data can discard it unread).
   */
  dieDelayMs?: number;
  /** After this many deltas, end the body cleanly without the frames that finish a reply (streams). */
  endAfter?: number;
  /** After this many deltas, send an `error` frame (OpenAI's or Anthropic's, with `errorMessage`) and keep the connection open. */
  errorFrameAfter?: number;
  /** Answer with this error status (and `headers`) instead of a reply. */
  status?: number;
  headers?: Record<string, string>;
  /** Put in error bodies, so tests can check it never reaches clients. */
  errorMessage?: string;
  /** Send no usage frame even when `stream_options.include_usage` asks for one, as some servers do. */
  ignoreIncludeUsage?: boolean;
  /**
   * Answer with these tool calls (after any `deltas`): OpenAI's `tool_calls` with finish reason
   * `tool_calls`, or Anthropic's `tool_use` blocks with stop reason `tool_use`.
   */
  toolCalls?: readonly FakeToolCall[];
  /** Anthropic format: the prompt-cache reads and writes its usage reports. */
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
};

export type FakeToolCall = { id: string; name: string; arguments: string };

export type RecordedRequest = {
  path: string;
  headers: IncomingMessage["headers"];
  body: Record<string, unknown>;
  receivedAt: number;
  /** The caller went away before the response was complete. */
  aborted: boolean;
  abortedAt?: number;
  /** Deltas written into the socket (for streams). */
  deltasWritten: number;
};

export type FakeLlmUpstream = {
  /** The base URL for OPENAI_BASE_URL and ANTHROPIC_BASE_URL (`.../v1`). */
  baseUrl: string;
  requests: RecordedRequest[];
  /** Requests being answered now, and the most there ever were at once. */
  readonly inFlight: number;
  readonly maxInFlight: number;
  script(...scripts: UpstreamScript[]): void;
  /** Resolves once request `index` has been aborted by the caller; rejects after `timeoutMs`. */
  waitForAbort(index: number, timeoutMs: number): Promise<RecordedRequest>;
  close(): Promise<void>;
};

export const DEFAULT_DELTAS = ["Hello", " from the", " fake upstream."];

/** What the fake's Anthropic `count_tokens` answers, whatever it is asked. */
export const FAKE_TOKEN_COUNT = 42;

/**
 * A real HTTP server that plays an LLM provider: OpenAI Chat Completions (JSON and SSE) at
 * `/v1/chat/completions`, OpenAI Embeddings at `/v1/embeddings` and Anthropic Messages (JSON and
 * SSE) at `/v1/messages`, with its `count_tokens` beside it.
 */
export async function startFakeLlmUpstream(): Promise<FakeLlmUpstream> {
  let scripts: UpstreamScript[] = [{}];
  const requests: RecordedRequest[] = [];
  let inFlight = 0;
  let maxInFlight = 0;

  const server = createServer(async (request, response) => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    response.once("close", () => {
      inFlight -= 1;
    });
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Record<string, unknown>;
    const record: RecordedRequest = {
      path: request.url ?? "",
      headers: request.headers,
      body,
      receivedAt: Date.now(),
      aborted: false,
      deltasWritten: 0,
    };
    requests.push(record);
    response.once("close", () => {
      if (!response.writableFinished) {
        record.aborted = true;
        record.abortedAt = Date.now();
      }
    });
    const script = scripts.length > 1 ? scripts.shift()! : scripts[0];
    try {
      await answer(request, response, body, script, record);
    } catch {
      // The caller went away mid-answer; the record says so.
    }
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    script(...next) {
      scripts = next.length > 0 ? next : [{}];
    },
    waitForAbort(index, timeoutMs) {
      return waitFor(
        `upstream request ${index} to be aborted`,
        () => (requests[index]?.aborted ? requests[index] : undefined),
        { timeoutMs, intervalMs: 10 },
      );
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}

async function answer(
  request: IncomingMessage,
  response: ServerResponse,
  body: Record<string, unknown>,
  script: UpstreamScript,
  record: RecordedRequest,
): Promise<void> {
  const anthropic = request.url?.endsWith("/messages") === true;
  if (script.status !== undefined) {
    if (script.firstChunkDelayMs) await sleep(script.firstChunkDelayMs);
    const message = script.errorMessage ?? "fake upstream failure";
    const errorBody = anthropic
      ? { type: "error", error: { type: "api_error", message } }
      : { error: { message, type: "server_error", code: null } };
    response.writeHead(script.status, { "content-type": "application/json", ...script.headers });
    response.end(JSON.stringify(errorBody));
    return;
  }
  const model = String(body.model ?? "fake-model");
  if (request.url?.endsWith("/messages/count_tokens") === true) {
    if (script.firstChunkDelayMs) await sleep(script.firstChunkDelayMs);
    response.writeHead(200, { "content-type": "application/json" });
    // Indented, as no serialiser of ours writes it: a relay that rebuilds the answer shows.
    response.end(JSON.stringify({ input_tokens: FAKE_TOKEN_COUNT }, null, 1));
    return;
  }
  if (request.url?.endsWith("/embeddings") === true) {
    if (script.firstChunkDelayMs) await sleep(script.firstChunkDelayMs);
    response.writeHead(200, { "content-type": "application/json" });
    // Indented, as no serialiser of ours writes it: a relay that rebuilds the answer shows.
    response.end(JSON.stringify(embeddingsAnswer(model, body), null, 1));
    return;
  }
  const deltas = script.deltas ?? DEFAULT_DELTAS;
  const format = anthropic ? anthropicFormat : openAIFormat;
  const usage: Usage = {
    input: 7,
    output: deltas.length,
    cacheRead: script.cacheReadTokens,
    cacheWrite: script.cacheWriteTokens,
  };

  if (script.toolCalls !== undefined) {
    const answerWith = anthropic ? answerAnthropicToolCalls : answerToolCalls;
    await answerWith(response, body, model, script.toolCalls, script.deltas ?? []);
    return;
  }
  if (body.stream !== true) {
    if (script.firstChunkDelayMs) await sleep(script.firstChunkDelayMs);
    response.writeHead(200, { "content-type": "application/json" });
    const json = format.json(model, deltas.join(""), usage);
    // OpenAI answers `n` choices; the fake repeats its reply in each.
    if (!anthropic && typeof body.n === "number" && body.n > 1) {
      const [choice] = (json as { choices: object[] }).choices;
      (json as { choices: object[] }).choices = Array.from({ length: body.n }, (_, index) => ({
        ...choice,
        index,
      }));
    }
    response.end(JSON.stringify(json));
    return;
  }

  response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  response.flushHeaders();
  if (script.firstChunkDelayMs) await sleep(script.firstChunkDelayMs);
  await write(response, format.start(model, usage));
  for (let index = 0; index <= deltas.length; index += 1) {
    if (index > 0 && script.chunkDelayMs) await sleep(script.chunkDelayMs);
    if (script.stallAfter === index) return; // the connection stays open, silent
    if (script.dieAfter === index) {
      if (script.dieDelayMs) await sleep(script.dieDelayMs);
      response.socket?.destroy();
      return;
    }
    if (script.endAfter === index) {
      response.end();
      return;
    }
    if (script.errorFrameAfter === index) {
      const message = script.errorMessage ?? "fake upstream failure";
      await write(
        response,
        anthropic
          ? sse({ type: "error", error: { type: "overloaded_error", message } }, "error")
          : sse({ error: { message, type: "server_error", code: null } }),
      );
      return; // the connection stays open: the caller must drop it
    }
    if (index === deltas.length) break;
    await write(response, format.delta(model, deltas[index]));
    record.deltasWritten += 1;
  }
  response.end(format.end(model, usage, script.ignoreIncludeUsage !== true));
}

/** An OpenAI answer that calls tools: one message with `tool_calls`, or a stream of their deltas. */
async function answerToolCalls(
  response: ServerResponse,
  body: Record<string, unknown>,
  model: string,
  toolCalls: readonly FakeToolCall[],
  deltas: readonly string[],
): Promise<void> {
  const calls = toolCalls.map((call) => ({
    id: call.id,
    type: "function",
    function: { name: call.name, arguments: call.arguments },
  }));
  if (body.stream !== true) {
    response.writeHead(200, { "content-type": "application/json" });
    response.end(
      JSON.stringify({
        id: "chatcmpl-fake",
        object: "chat.completion",
        created: 1_700_000_000,
        model,
        choices: [
          {
            index: 0,
            message: {
              role: "assistant",
              content: deltas.length > 0 ? deltas.join("") : null,
              tool_calls: calls,
            },
            finish_reason: "tool_calls",
          },
        ],
        usage: { prompt_tokens: 7, completion_tokens: 5, total_tokens: 12 },
      }),
    );
    return;
  }
  response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  let frames = sse(openAIChunk(model, { role: "assistant", content: null }, null));
  for (const delta of deltas) frames += sse(openAIChunk(model, { content: delta }, null));
  toolCalls.forEach((call, index) => {
    // As OpenAI streams them: id and name first, then the arguments in pieces.
    frames += sse(
      openAIChunk(
        model,
        {
          tool_calls: [
            { index, id: call.id, type: "function", function: { name: call.name, arguments: "" } },
          ],
        },
        null,
      ),
    );
    const middle = Math.ceil(call.arguments.length / 2);
    for (const piece of [call.arguments.slice(0, middle), call.arguments.slice(middle)]) {
      frames += sse(openAIChunk(model, { tool_calls: [{ index, function: { arguments: piece } }] }, null));
    }
  });
  frames += sse(openAIChunk(model, {}, "tool_calls"));
  frames += usageFrame(model, { input: 7, output: 5 });
  response.end(`${frames}data: [DONE]\n\n`);
}

/** Honours backpressure like a real server, so a caller that stops reading stops the fake too. */
async function write(response: ServerResponse, text: string): Promise<void> {
  if (response.destroyed) throw new Error("closed");
  if (!response.write(text)) {
    await new Promise<void>((resolve) => {
      const settle = () => {
        response.off("drain", settle);
        response.off("close", settle);
        resolve();
      };
      response.on("drain", settle);
      response.on("close", settle);
    });
    if (response.destroyed) throw new Error("closed");
  }
}

type Usage = { input: number; output: number; cacheRead?: number; cacheWrite?: number };

/** Anthropic's usage object, with the prompt-cache counts when the script sets them. */
function anthropicUsage(usage: Usage) {
  return {
    input_tokens: usage.input,
    output_tokens: usage.output,
    ...(usage.cacheRead === undefined ? {} : { cache_read_input_tokens: usage.cacheRead }),
    ...(usage.cacheWrite === undefined ? {} : { cache_creation_input_tokens: usage.cacheWrite }),
  };
}

/** An Anthropic answer that calls tools: `tool_use` blocks, or a stream of `input_json_delta`s. */
async function answerAnthropicToolCalls(
  response: ServerResponse,
  body: Record<string, unknown>,
  model: string,
  toolCalls: readonly FakeToolCall[],
  deltas: readonly string[],
): Promise<void> {
  const text = deltas.join("");
  const textBlocks = text.length > 0 ? [{ type: "text", text }] : [];
  const usage = { input_tokens: 7, output_tokens: 5 };
  if (body.stream !== true) {
    response.writeHead(200, { "content-type": "application/json" });
    response.end(
      JSON.stringify({
        id: "msg_fake",
        type: "message",
        role: "assistant",
        model,
        content: [
          ...textBlocks,
          ...toolCalls.map((call) => ({
            type: "tool_use",
            id: call.id,
            name: call.name,
            input: JSON.parse(call.arguments),
          })),
        ],
        stop_reason: "tool_use",
        stop_sequence: null,
        usage,
      }),
    );
    return;
  }
  response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  let frames = sse(
    {
      type: "message_start",
      message: {
        id: "msg_fake",
        type: "message",
        role: "assistant",
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 7, output_tokens: 1 },
      },
    },
    "message_start",
  );
  let index = 0;
  if (text.length > 0) {
    frames += sse(
      { type: "content_block_start", index, content_block: { type: "text", text: "" } },
      "content_block_start",
    );
    frames += sse(
      { type: "content_block_delta", index, delta: { type: "text_delta", text } },
      "content_block_delta",
    );
    frames += sse({ type: "content_block_stop", index }, "content_block_stop");
    index += 1;
  }
  for (const call of toolCalls) {
    frames += sse(
      {
        type: "content_block_start",
        index,
        content_block: { type: "tool_use", id: call.id, name: call.name, input: {} },
      },
      "content_block_start",
    );
    const middle = Math.ceil(call.arguments.length / 2);
    for (const piece of [call.arguments.slice(0, middle), call.arguments.slice(middle)]) {
      frames += sse(
        { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: piece } },
        "content_block_delta",
      );
    }
    frames += sse({ type: "content_block_stop", index }, "content_block_stop");
    index += 1;
  }
  frames += sse(
    {
      type: "message_delta",
      delta: { stop_reason: "tool_use", stop_sequence: null },
      usage: { output_tokens: 5 },
    },
    "message_delta",
  );
  response.end(frames + sse({ type: "message_stop" }, "message_stop"));
}

/**
 * Input `index`'s fake embedding: powers of two, so float32 (base64) holds them exactly and a test
 * can compare decoded vectors with `deepEqual`.
 */
export function fakeEmbedding(index: number, dimensions: number): number[] {
  return Array.from({ length: dimensions }, (_, dimension) => (index + 1) / 2 ** (dimension + 1));
}

/** OpenAI's embeddings answer: 3 dimensions unless asked, 2 prompt tokens per input. */
function embeddingsAnswer(model: string, body: Record<string, unknown>) {
  const input = body.input;
  const items =
    typeof input === "string" || typeof (input as unknown[])[0] === "number" ? [input] : (input as unknown[]);
  const dimensions = typeof body.dimensions === "number" ? body.dimensions : 3;
  return {
    object: "list",
    data: items.map((_, index) => {
      const vector = fakeEmbedding(index, dimensions);
      const embedding =
        body.encoding_format === "base64"
          ? Buffer.from(new Float32Array(vector).buffer).toString("base64")
          : vector;
      return { object: "embedding", index, embedding };
    }),
    model,
    usage: { prompt_tokens: items.length * 2, total_tokens: items.length * 2 },
  };
}

const openAIFormat = {
  json: (model: string, text: string, usage: Usage) => ({
    id: "chatcmpl-fake",
    object: "chat.completion",
    created: 1_700_000_000,
    model,
    choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
    usage: {
      prompt_tokens: usage.input,
      completion_tokens: usage.output,
      total_tokens: usage.input + usage.output,
    },
  }),
  start: (model: string) => sse(openAIChunk(model, { role: "assistant", content: "" }, null)),
  delta: (model: string, text: string) => sse(openAIChunk(model, { content: text }, null)),
  end: (model: string, usage: Usage, withUsage: boolean) =>
    `${sse(openAIChunk(model, {}, "stop"))}${withUsage ? usageFrame(model, usage) : ""}data: [DONE]\n\n`,
};

function usageFrame(model: string, usage: Usage): string {
  return sse({
    id: "chatcmpl-fake",
    object: "chat.completion.chunk",
    created: 1_700_000_000,
    model,
    choices: [],
    usage: {
      prompt_tokens: usage.input,
      completion_tokens: usage.output,
      total_tokens: usage.input + usage.output,
    },
  });
}

function openAIChunk(model: string, delta: object, finishReason: string | null) {
  return {
    id: "chatcmpl-fake",
    object: "chat.completion.chunk",
    created: 1_700_000_000,
    model,
    choices: [{ index: 0, delta, finish_reason: finishReason }],
  };
}

const anthropicFormat = {
  json: (model: string, text: string, usage: Usage) => ({
    id: "msg_fake",
    type: "message",
    role: "assistant",
    model,
    content: [{ type: "text", text }],
    stop_reason: "end_turn",
    stop_sequence: null,
    usage: anthropicUsage(usage),
  }),
  start: (model: string, usage: Usage) =>
    sse(
      {
        type: "message_start",
        message: {
          id: "msg_fake",
          type: "message",
          role: "assistant",
          model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { ...anthropicUsage(usage), output_tokens: 1 },
        },
      },
      "message_start",
    ) +
    sse(
      { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
      "content_block_start",
    ) +
    sse({ type: "ping" }, "ping"),
  delta: (_model: string, text: string) =>
    sse(
      { type: "content_block_delta", index: 0, delta: { type: "text_delta", text } },
      "content_block_delta",
    ),
  end: (_model: string, usage: Usage) =>
    sse({ type: "content_block_stop", index: 0 }, "content_block_stop") +
    sse(
      {
        type: "message_delta",
        delta: { stop_reason: "end_turn", stop_sequence: null },
        usage: { output_tokens: usage.output },
      },
      "message_delta",
    ) +
    sse({ type: "message_stop" }, "message_stop"),
};

function sse(data: object, event?: string): string {
  return `${event ? `event: ${event}\n` : ""}data: ${JSON.stringify(data)}\n\n`;
}
