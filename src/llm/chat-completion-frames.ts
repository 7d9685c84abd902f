import { finishReasonFromOpenAI } from "./finish-reason.ts";
import { RelayFrameReader } from "./relay-frame-reader.ts";
import { usageFromOpenAI } from "./token-usage.ts";
import { UpstreamStreamError } from "./upstream-stream-error.ts";

type ChunkJson = {
  model?: unknown;
  choices?: {
    delta?: { content?: unknown; tool_calls?: unknown; function_call?: unknown; refusal?: unknown } | null;
    finish_reason?: unknown;
  }[];
  usage?: unknown;
  error?: unknown;
};

/**
 * Reads an upstream's Chat Completions event stream as it arrives and says which frames to pass
 * on. Each `data:` payload is parsed once, for the text, finish reason and usage; the frame the
 * client gets is the upstream's payload unchanged, except that the usage the relay always asks
 * for is left out when the client did not ask for it. `[DONE]`, comments and other fields are
 * not passed on: the relay ends the stream with its own `[DONE]`.
 *
 * The reply has started with a frame that carries part of it (text, a tool call, a refusal), not
 * only its role. Tool calls are those of the first choice, each counted once, by its `id`.
 */
export class ChatCompletionFrames extends RelayFrameReader {
  /** The upstream sent `data: [DONE]`. */
  done = false;
  readonly #includeUsage: boolean;

  constructor(options: { includeUsage: boolean }) {
    super();
    this.#includeUsage = options.includeUsage;
  }

  /** `[DONE]`, or a finish reason from a server that ends its stream without `[DONE]`. */
  override get complete(): boolean {
    return this.done || this.finishReason !== undefined;
  }

  protected override readEvent(event: string, onText: (delta: string) => void): string {
    // The usual event is one `data: <json>` line.
    if (event.indexOf("\n") === -1) {
      if (!event.startsWith("data:")) return "";
      return this.#data(event.charCodeAt(5) === 32 ? event.slice(6) : event.slice(5), onText);
    }
    const data = this.eventData(event);
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
