import type { AnthropicRelayRequest } from "../../llm/relay-anthropic-messages.ts";
import { relayAnthropicMessage, relayAnthropicMessagesStream } from "../../llm/relay-anthropic-messages.ts";
import type { ChatSource, SourceCall } from "../chat-source.ts";

/**
 * The `anthropic` provider for `/v1/messages`, over a pooled undici connection: the client's body
 * goes on as it came (fields the service does not know included) with only `model` replaced, and
 * the upstream's JSON and events come back as they are, read once for what the observer needs.
 */
export const anthropicMessagesRelaySource: ChatSource = {
  wireFormat: "anthropic-messages",
  serves: (model) => model.anthropicMessages !== undefined,
  async generate(call) {
    const { body, result } = await relayAnthropicMessage(relayRequest(call));
    return { ...result, toolCalls: [], reasoning: "", body };
  },
  stream: (call, sink) => relayAnthropicMessagesStream(relayRequest(call), sink),
};

function relayRequest(call: SourceCall): AnthropicRelayRequest {
  const upstream = call.model.anthropicMessages;
  // `serves` keeps other models away; this names the mistake if a caller skips it.
  if (upstream === undefined) throw new Error(`${call.model.name} is not a Messages API upstream.`);
  const { wireBody } = call;
  // The Anthropic protocols always give their body; this names the mistake if another does not.
  if (wireBody === undefined) throw new Error("The Messages relay needs the client's body.");
  return {
    upstream,
    body: JSON.stringify({ ...wireBody, model: call.model.modelId }),
    clientHeaders: call.wireHeaders ?? {},
    signal: call.signal,
    handle: call.handle,
    limits: call.limits,
  };
}
