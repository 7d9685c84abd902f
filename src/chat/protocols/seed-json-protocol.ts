import type { JsonProtocol, ReplyContext } from "../reply-protocol.ts";
import { sourceBody } from "./source-body.ts";
import { usageBody } from "./usage-body.ts";

/** `POST /chat`: `{reply, model, usage, finish_reason, request_id}`, and `sources` when grounded. */
export function seedJsonProtocol(context: ReplyContext) {
  const protocol = {
    wireFormat: undefined,
    body: (reply) => ({
      reply: reply.text,
      model: context.model.name,
      usage: usageBody(reply.usage),
      // The language-model source always says; `other` is what it says when the provider did not.
      finish_reason: reply.finishReason ?? "other",
      request_id: context.requestId,
      ...(context.sources === undefined ? {} : { sources: context.sources.map(sourceBody) }),
    }),
  } satisfies JsonProtocol<object>;
  return protocol;
}
