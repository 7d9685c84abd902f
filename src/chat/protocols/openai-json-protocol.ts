import type { JsonProtocol, ReplyContext } from "../reply-protocol.ts";
import { openAIFinishReason } from "./openai-finish-reason.ts";
import { sourceBody } from "./source-body.ts";
import { usageBody } from "./usage-body.ts";

export type OpenAIJsonOptions = {
  /** The model as the client named it, which the answer repeats; the resolved name otherwise. */
  requestedModel: string | undefined;
};

/**
 * `POST /v1/chat/completions` without `stream`: a `chat.completion` object. A relayed upstream's
 * own answer passes through byte for byte (its `id`, `model` and `created` included).
 */
export function openAIJsonProtocol(context: ReplyContext, options: OpenAIJsonOptions) {
  const created = Math.floor(Date.now() / 1000);
  const sources = context.sources?.map(sourceBody);
  const protocol = {
    wireFormat: "openai-chat-completions",
    body: (reply) => {
      // Grounded: `sources` is an extension field, on a relayed answer too.
      if (reply.body !== undefined)
        return sources === undefined ? reply.body : withSources(reply.body, sources);
      return {
        id: `chatcmpl-${context.requestId}`,
        object: "chat.completion" as const,
        created,
        model: options.requestedModel ?? context.model.name,
        system_fingerprint: null,
        choices: [
          {
            index: 0,
            message: { role: "assistant" as const, content: reply.text, refusal: null },
            logprobs: null,
            finish_reason: openAIFinishReason(reply.finishReason),
          },
        ],
        usage: usageBody(reply.usage),
        ...(sources === undefined ? {} : { sources }),
      };
    },
  } satisfies JsonProtocol<object>;
  return protocol;
}

function withSources(body: string, sources: readonly object[]): string {
  return JSON.stringify({ ...(JSON.parse(body) as object), sources });
}
