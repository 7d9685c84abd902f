import { openAIErrorBody } from "../../http/error-body.ts";
import type { ReplyContext, StreamProtocol } from "../reply-protocol.ts";
import { openAIFinishReason } from "./openai-finish-reason.ts";
import { openAIReplyIdentity } from "./openai-reply-identity.ts";
import { openAIToolCallDelta } from "./openai-tool-calls.ts";
import { sourceBody } from "./source-body.ts";
import { usageBody } from "./usage-body.ts";

export type OpenAIChunkOptions = {
  /** The model as the client named it, which every chunk repeats; the resolved name otherwise. */
  requestedModel: string | undefined;
  includeUsage: boolean;
};

const DONE = "data: [DONE]\n\n";

/**
 * `POST /v1/chat/completions` with `stream: true`: `chat.completion.chunk` events, a role chunk,
 * a finish chunk, the usage chunk when asked for, then `data: [DONE]`. A relayed upstream's own
 * chunks pass through as they are, and only `[DONE]` is ours.
 *
 * Nothing is sent before the model's first delta, so a failure before it (after our retries) is
 * still an HTTP error that OpenAI clients raise as their `APIError`.
 */
export function openAIChunkProtocol(context: ReplyContext, options: OpenAIChunkOptions): StreamProtocol {
  const { id, created, model } = openAIReplyIdentity(context, options.requestedModel);
  const sources = context.sources?.map(sourceBody);
  // Every chunk shares this head; only the delta changes, so build it once.
  const head = `data: {"id":${JSON.stringify(id)},"object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)},"system_fingerprint":null,"choices":`;
  return {
    transport: "sse",
    opensEarly: false,
    wireFormat: "openai-chat-completions",
    start: () =>
      `${head}[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n`,
    text: (delta) =>
      `${head}[{"index":0,"delta":{"content":${JSON.stringify(delta)}},"logprobs":null,"finish_reason":null}]}\n\n`,
    toolCall: (delta) =>
      `${head}[{"index":0,"delta":{"tool_calls":[${JSON.stringify(openAIToolCallDelta(delta))}]},"logprobs":null,"finish_reason":null}]}\n\n`,
    finish(outcome, { passthrough }) {
      // Grounded: a last chunk with no choices carries `sources` (an extension), relayed or not.
      const sourcesFrame = sources === undefined ? "" : `${head}[],"sources":${JSON.stringify(sources)}}\n\n`;
      if (passthrough) return sourcesFrame + DONE;
      let frames = `${head}[{"index":0,"delta":{},"logprobs":null,"finish_reason":"${openAIFinishReason(outcome.finishReason)}"}]}\n\n`;
      if (options.includeUsage)
        frames += `${head}[],"usage":${JSON.stringify(usageBody(outcome.usage))}}\n\n`;
      return frames + sourcesFrame + DONE;
    },
    error: (error) => `data: ${JSON.stringify(openAIErrorBody(error))}\n\n${DONE}`,
  };
}
