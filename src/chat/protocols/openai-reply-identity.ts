import type { ReplyContext } from "../reply-protocol.ts";

/**
 * What names one Chat Completions reply in each of its objects (the JSON answer, every chunk): our
 * request id as `chatcmpl-<id>`, the second it was made, and the model as the client named it.
 */
export function openAIReplyIdentity(context: ReplyContext, requestedModel: string | undefined) {
  return {
    id: `chatcmpl-${context.requestId}`,
    created: Math.floor(Date.now() / 1000),
    model: requestedModel ?? context.model.name,
  };
}
