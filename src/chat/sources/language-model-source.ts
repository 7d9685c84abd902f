import type { CompletionRequest } from "../../llm/completion-request.ts";
import { generateCompletion } from "../../llm/generate-completion.ts";
import { streamCompletion } from "../../llm/stream-completion.ts";
import type { ChatSource, SourceCall } from "../chat-source.ts";

/** Any model through the AI SDK's language-model interface: the source every protocol can frame. */
export const languageModelSource: ChatSource = {
  wireFormat: undefined,
  serves: () => true,
  generate: (call) => generateCompletion(completionRequest(call)),
  stream: (call, sink) => streamCompletion(completionRequest(call), sink),
};

function completionRequest(call: SourceCall): CompletionRequest {
  return {
    model: call.model,
    messages: call.input.messages,
    parameters: call.input.parameters,
    signal: call.signal,
    handle: call.handle,
    limits: call.limits,
  };
}
