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
    return { ...result, body };
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
 * What the language-model source would send: the checked messages (developer as system, text
 * parts joined) and the supported parameters. Streams always ask for usage, so it can be counted.
 */
function upstreamBody(call: SourceCall, stream: boolean): string {
  const { parameters } = call.input;
  return JSON.stringify({
    model: call.model.modelId,
    messages: call.input.messages,
    max_tokens: parameters.maxTokens,
    temperature: parameters.temperature,
    top_p: parameters.topP,
    stop: parameters.stop,
    stream: stream ? true : undefined,
    stream_options: stream ? { include_usage: true } : undefined,
  });
}
