import { relayCompletion } from "../../llm/relay-completion.ts";
import { relayCompletionStream } from "../../llm/relay-completion-stream.ts";
import type { ChatSource, SourceCall } from "../chat-source.ts";

/**
 * A provider that speaks OpenAI Chat Completions itself (`openai`, `ollama`), called over a pooled
 * undici connection: its JSON answer and its `chat.completion.chunk` frames pass through as they
 * are, read once for what the observer needs.
 */
export const chatCompletionsRelaySource: ChatSource = {
  wireFormat: "openai-chat-completions",
  serves: (model) => model.chatCompletions !== undefined,
  async generate(call) {
    const { body, result } = await relayCompletion({
      ...upstreamCall(call),
      body: upstreamBody(call, false),
    });
    return { ...result, toolCalls: [], reasoning: "", body };
  },
  stream: (call, sink) =>
    relayCompletionStream(
      { ...upstreamCall(call), body: upstreamBody(call, true), includeUsage: call.includeUsage },
      sink,
    ),
};

function upstreamCall(call: SourceCall) {
  const upstream = call.model.chatCompletions;
  // `serves` keeps other models away; this names the mistake if a caller skips it.
  if (upstream === undefined) throw new Error(`${call.model.name} is not a Chat Completions upstream.`);
  return {
    upstream,
    signal: call.signal,
    handle: call.handle,
    limits: call.limits,
  };
}

/**
 * The client's body as it came, fields the service does not know included (vLLM's `guided_json`,
 * `top_k`...): only `model` becomes the upstream's name, and a stream always asks for usage so
 * it can be counted (the usage frame is dropped again when the client did not ask for it).
 */
function upstreamBody(call: SourceCall, stream: boolean): string {
  const { wireBody } = call;
  // The OpenAI protocols always give their body; this names the mistake if another does not.
  if (wireBody === undefined) throw new Error("The Chat Completions relay needs the client's body.");
  const body: Record<string, unknown> = { ...wireBody, model: call.model.modelId };
  if (stream) {
    const asked = wireBody.stream_options;
    body.stream_options = {
      ...(typeof asked === "object" && asked !== null ? asked : {}),
      include_usage: true,
    };
  }
  return JSON.stringify(body);
}
