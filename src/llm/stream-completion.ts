import type { LanguageModelV4StreamPart } from "@ai-sdk/provider";
import { type CompletionRequest, type CompletionResult, toCallOptions } from "./completion-request.ts";
import { finishReasonFromLanguageModel } from "./finish-reason.ts";
import { refuseDroppedSettings } from "./refuse-dropped-settings.ts";
import { retryUpstreamCall } from "./retry-upstream-call.ts";
import { streamEndedEarly } from "./stream-ended-early.ts";
import { usageFromLanguageModel } from "./token-usage.ts";
import type { ToolCallDelta } from "./tool-call.ts";

/**
 * Where the pieces of a streamed reply go. Each may return a promise while the client's socket is
 * full: nothing more is read from the upstream until it settles, so memory stays bounded.
 */
export type CompletionStreamSink = Readonly<{
  text(delta: string): void | Promise<void>;
  toolCall(delta: ToolCallDelta): void | Promise<void>;
  reasoning(delta: string): void | Promise<void>;
}>;

/**
 * Streams the reply into `sink` as it arrives.
 *
 * Failures before the first piece are retried; after it they are thrown, because part of the
 * reply has reached the client. Throws a ServiceError, or the signal's reason once the client
 * has gone.
 */
export async function streamCompletion(
  request: CompletionRequest,
  sink: CompletionStreamSink,
): Promise<CompletionResult> {
  let pieceSent = false;
  return retryUpstreamCall(
    request,
    async (deadline) => {
      let reader: ReadableStreamDefaultReader<LanguageModelV4StreamPart> | undefined;
      let readerDone = false;
      /** Tool calls by the provider's id, numbered in the order they started. */
      const toolCallIndexes = new Map<string, number>();
      const streamedToolInputs = new Set<string>();
      const deliver = async (pending: void | Promise<void>) => {
        pieceSent = true;
        if (pending !== undefined) {
          deadline.suspend();
          await pending;
        }
        deadline.activity();
      };
      const toolCallIndex = (id: string) => {
        let index = toolCallIndexes.get(id);
        if (index === undefined) {
          index = toolCallIndexes.size;
          toolCallIndexes.set(id, index);
        }
        return index;
      };
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
            case "text-delta":
              deadline.activity();
              if (part.delta.length > 0) await deliver(sink.text(part.delta));
              break;
            case "reasoning-delta":
              deadline.activity();
              if (part.delta.length > 0) await deliver(sink.reasoning(part.delta));
              break;
            case "tool-input-start":
              deadline.activity();
              if (part.providerExecuted === true) break;
              streamedToolInputs.add(part.id);
              await deliver(
                sink.toolCall({
                  index: toolCallIndex(part.id),
                  id: part.id,
                  name: part.toolName,
                  argumentsDelta: "",
                }),
              );
              break;
            case "tool-input-delta":
              deadline.activity();
              if (!streamedToolInputs.has(part.id) || part.delta.length === 0) break;
              await deliver(sink.toolCall({ index: toolCallIndex(part.id), argumentsDelta: part.delta }));
              break;
            case "tool-call":
              deadline.activity();
              // A provider that streams no input pieces gives the whole call at once.
              if (part.providerExecuted === true || streamedToolInputs.has(part.toolCallId)) break;
              await deliver(
                sink.toolCall({
                  index: toolCallIndex(part.toolCallId),
                  id: part.toolCallId,
                  name: part.toolName,
                  argumentsDelta: part.input,
                }),
              );
              break;
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
              // It names the settings the provider dropped, which must not pass silently.
              refuseDroppedSettings(part.warnings);
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
    () => !pieceSent,
  );
}
