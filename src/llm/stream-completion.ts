import type { LanguageModelV4StreamPart } from "@ai-sdk/provider";
import { type CompletionRequest, type CompletionResult, toCallOptions } from "./completion-request.ts";
import { finishReasonFromLanguageModel } from "./finish-reason.ts";
import { retryUpstreamCall } from "./retry-upstream-call.ts";
import { streamEndedEarly } from "./stream-ended-early.ts";
import { usageFromLanguageModel } from "./token-usage.ts";

/**
 * Hands each text delta to `onTextDelta` as it arrives. When that returns a promise (the client's
 * socket is full) no more is read from the upstream until it settles, so memory stays bounded.
 *
 * Failures before the first delta are retried; after it they are thrown, because part of the
 * reply has reached the client. Throws a ServiceError, or the signal's reason once the client
 * has gone.
 */
export async function streamCompletion(
  request: CompletionRequest,
  onTextDelta: (delta: string) => void | Promise<void>,
): Promise<CompletionResult> {
  let deltaSent = false;
  return retryUpstreamCall(
    request,
    async (deadline) => {
      let reader: ReadableStreamDefaultReader<LanguageModelV4StreamPart> | undefined;
      let readerDone = false;
      try {
        const { stream } = await request.model.languageModel.doStream(
          toCallOptions(request, deadline.signal),
        );
        reader = stream.getReader();
        let responseModel: string | undefined;
        for (;;) {
          const { done, value: part } = await reader.read();
          if (done) {
            readerDone = true;
            break;
          }
          switch (part.type) {
            case "text-delta": {
              deadline.activity();
              if (part.delta.length === 0) break;
              deltaSent = true;
              const pending = onTextDelta(part.delta);
              if (pending !== undefined) {
                deadline.suspend();
                await pending;
                deadline.activity();
              }
              break;
            }
            case "finish":
              readerDone = true;
              return {
                finishReason: finishReasonFromLanguageModel(part.finishReason),
                usage: usageFromLanguageModel(part.usage),
                responseModel,
              };
            case "error":
              throw part.error;
            case "response-metadata":
              deadline.activity();
              responseModel = part.modelId ?? responseModel;
              break;
            case "stream-start":
              // Sent by the provider itself before anything arrives: not a sign of life upstream.
              break;
            default:
              deadline.activity();
          }
        }
        throw streamEndedEarly();
      } finally {
        // Releases the upstream connection when we stop early (an error part, a finish before the end).
        if (reader !== undefined && !readerDone) reader.cancel().catch(() => {});
      }
    },
    () => !deltaSent,
  );
}
