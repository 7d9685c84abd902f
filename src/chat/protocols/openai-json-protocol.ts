import type { JsonProtocol, ReplyContext } from "../reply-protocol.ts";
import { openAIFinishReason } from "./openai-finish-reason.ts";
import { openAIReplyIdentity } from "./openai-reply-identity.ts";
import { openAIToolCalls } from "./openai-tool-calls.ts";
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
  const { id, created, model } = openAIReplyIdentity(context, options.requestedModel);
  const sources = context.sources?.map(sourceBody);
  const protocol = {
    wireFormat: "openai-chat-completions",
    body: (reply) => {
      // Grounded: `sources` is an extension field, on a relayed answer too.
      if (reply.body !== undefined)
        return sources === undefined ? reply.body : withSources(reply.body, sources);
      return {
        id,
        object: "chat.completion" as const,
        created,
        model,
        system_fingerprint: null,
        choices: [
          {
            index: 0,
            message:
              reply.toolCalls.length === 0
                ? { role: "assistant" as const, content: reply.text, refusal: null }
                : {
                    role: "assistant" as const,
                    // OpenAI's own answer with tool calls and no text has `content: null`.
                    content: reply.text.length === 0 ? null : reply.text,
                    refusal: null,
                    tool_calls: openAIToolCalls(reply.toolCalls),
                  },
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
