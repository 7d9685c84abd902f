import { type FinishReason, finishReasonFromOpenAI } from "./finish-reason.ts";
import { type TokenUsage, usageFromOpenAI } from "./token-usage.ts";

type ChunkJson = {
  model?: unknown;
  choices?: {
    delta?: { content?: unknown; tool_calls?: unknown; function_call?: unknown; refusal?: unknown } | null;
    finish_reason?: unknown;
  }[];
  usage?: unknown;
  error?: unknown;
};

/** An `error` object an upstream sent inside its stream (its `cause`); never shown to clients. */
export class UpstreamStreamError extends Error {
  constructor(detail: unknown) {
    super("The model provider sent an error in its stream.", { cause: detail });
    this.name = "UpstreamStreamError";
  }
}

/**
 * Reads an upstream's Chat Completions event stream as it arrives and says which frames to pass
 * on. Each `data:` payload is parsed once, for the text, finish reason and usage; the frame the
 * client gets is the upstream's payload unchanged, except that the usage the relay always asks
 * for is left out when the client did not ask for it. `[DONE]`, comments and other fields are
 * not passed on: the relay ends the stream with its own `[DONE]`.
 */
export class ChatCompletionFrames {
  /** The reply's text so far. */
  text = "";
  finishReason: FinishReason | undefined;
  usage: TokenUsage | undefined;
  responseModel: string | undefined;
  /** Tool calls of the first choice started so far (each announces its `id` once). */
  toolCallCount = 0;
  /** The upstream sent `data: [DONE]`. */
  done = false;
  /**
   * A frame carried part of the reply itself (text, a tool call, a refusal), not only its role: from
   * here on what the client got cannot be taken back by a retry.
   */
  replyStarted = false;
  readonly #includeUsage: boolean;
  /** The start of an event whose end has not arrived yet. */
  #partial = "";
  /** The last piece ended in CR: an LF starting the next one belongs to it. */
  #carriageReturn = false;

  constructor(options: { includeUsage: boolean }) {
    this.#includeUsage = options.includeUsage;
  }

  /**
   * Takes the next piece of the body (decoded text) and answers the frames to relay, maybe "".
   * `onText` gets each non-empty content delta. Throws on a payload that is not JSON or on an
   * `error` object from the upstream.
   */
  push(piece: string, onText: (delta: string) => void): string {
    let text = piece;
    if (this.#carriageReturn && text.charCodeAt(0) === 10) text = text.slice(1);
    this.#carriageReturn = false;
    // SSE allows CR and CRLF line ends; OpenAI and its peers send LF, so this is rarely taken.
    if (text.indexOf("\r") !== -1) {
      this.#carriageReturn = text.charCodeAt(text.length - 1) === 13;
      text = text.replace(/\r\n?/g, "\n");
    }
    const buffer = this.#partial.length === 0 ? text : this.#partial + text;
    let frames = "";
    let start = 0;
    for (;;) {
      const end = buffer.indexOf("\n\n", start);
      if (end === -1) break;
      if (end > start) frames += this.#event(buffer.slice(start, end), onText);
      start = end + 2;
    }
    this.#partial = start === 0 ? buffer : buffer.slice(start);
    return frames;
  }

  #event(event: string, onText: (delta: string) => void): string {
    // The usual event is one `data: <json>` line.
    if (event.indexOf("\n") === -1) {
      if (!event.startsWith("data:")) return "";
      return this.#data(event.charCodeAt(5) === 32 ? event.slice(6) : event.slice(5), onText);
    }
    let data: string | undefined;
    for (const line of event.split("\n")) {
      if (!line.startsWith("data:")) continue;
      const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
      data = data === undefined ? value : `${data}\n${value}`;
    }
    return data === undefined ? "" : this.#data(data, onText);
  }

  #data(data: string, onText: (delta: string) => void): string {
    if (data === "[DONE]") {
      this.done = true;
      return "";
    }
    const chunk = JSON.parse(data) as ChunkJson;
    if (chunk.error !== undefined && chunk.error !== null) throw new UpstreamStreamError(chunk.error);
    if (this.responseModel === undefined && typeof chunk.model === "string") this.responseModel = chunk.model;
    const choice = Array.isArray(chunk.choices) ? chunk.choices[0] : undefined;
    if (choice !== undefined && choice !== null) {
      const delta = choice.delta;
      const content = delta?.content;
      if (typeof content === "string" && content.length > 0) {
        this.text += content;
        this.replyStarted = true;
        onText(content);
      }
      if (Array.isArray(delta?.tool_calls)) {
        for (const call of delta.tool_calls as { id?: unknown }[]) {
          if (typeof call?.id === "string" && call.id.length > 0) this.toolCallCount += 1;
        }
      }
      if (
        delta?.tool_calls != null ||
        delta?.function_call != null ||
        (typeof delta?.refusal === "string" && delta.refusal.length > 0)
      ) {
        this.replyStarted = true;
      }
      const finishReason = finishReasonFromOpenAI(choice.finish_reason);
      if (finishReason !== undefined) this.finishReason = finishReason;
    }
    const usage = usageFromOpenAI(chunk.usage);
    if (usage === undefined) return `data: ${data}\n\n`;
    this.usage = usage;
    if (this.#includeUsage) return `data: ${data}\n\n`;
    // The usage frame the client did not ask for; some servers put usage on a content frame instead.
    if (choice === undefined || choice === null) return "";
    chunk.usage = undefined;
    return `data: ${JSON.stringify(chunk)}\n\n`;
  }
}
