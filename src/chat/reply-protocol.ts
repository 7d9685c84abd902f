import type { ServiceError } from "../errors/service-error.ts";
import type { GroundingSource } from "../knowledge/ground-chat-input.ts";
import type { ResolvedModel } from "../llm/model-registry.ts";
import type { ToolCallDelta } from "../llm/tool-call.ts";
import type { GeneratedReply, ReplyOutcome, WireFormat } from "./chat-source.ts";

/** What a protocol may name in its framing, known once the call is admitted. */
export type ReplyContext = Readonly<{
  requestId: string;
  model: ResolvedModel;
  /** With `knowledge`: the chunks given to the model, best first. */
  sources: readonly GroundingSource[] | undefined;
}>;

/**
 * How one endpoint frames a streamed reply as bytes. A protocol knows nothing of retries, slots
 * or observers; the pipeline decides when each piece is written.
 */
export type StreamProtocol = Readonly<{
  /** Server-Sent Events (pings while idle) or plain text. */
  transport: "sse" | "text";
  /**
   * True when the response starts before the model is called (with `start()`). Otherwise it starts
   * with the first piece of the reply, so a failure before it is still an HTTP error.
   */
  opensEarly: boolean;
  /** A source whose own frames are in this format hands them over as they are (the relay). */
  wireFormat: WireFormat | undefined;
  /** The SSE frame sent while idle, for a format that has its own (Anthropic's `ping`); `: ping` otherwise. */
  ping?: string;
  /** The first bytes, or "". Not sent when a source's own frames pass through. */
  start(): string;
  text(delta: string): string;
  /** A piece of a tool call; only the protocols of endpoints that take tools frame them. */
  toolCall?(delta: ToolCallDelta): string;
  /** A piece of the model's reasoning; protocols without a place for it leave this out. */
  reasoning?(delta: string): string;
  /** The last bytes of a finished reply; `passthrough` when the source's own frames were sent. */
  finish(outcome: ReplyOutcome, options: { passthrough: boolean }): string;
  /** The last bytes after a failure once the response has started. */
  error(error: ServiceError): string;
}>;

/** How one endpoint answers a whole reply. */
export type JsonProtocol<Body> = Readonly<{
  wireFormat: WireFormat | undefined;
  /** The response body: an object for the route's serialiser, or a source's own JSON as is. */
  body(reply: GeneratedReply): Body | string;
}>;

/** Protocols are made once the model is known, so their frames can name it. */
export type ProtocolFactory<Protocol> = (context: ReplyContext) => Protocol;
