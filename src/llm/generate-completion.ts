import type { CompletionRequest, GeneratedCompletion } from "./completion-request.ts";
import { toCallOptions } from "./completion-request.ts";
import { finishReasonFromLanguageModel } from "./finish-reason.ts";
import { refuseDroppedSettings } from "./refuse-dropped-settings.ts";
import { retryUpstreamCall } from "./retry-upstream-call.ts";
import { usageFromLanguageModel } from "./token-usage.ts";
import type { ToolCall } from "./tool-call.ts";

/**
 * The whole reply at once (the provider's non-streaming API), retried on transient failures.
 * `LLM_TIMEOUT_MS` bounds each attempt: nothing reaches us before the whole reply does.
 */
export async function generateCompletion(request: CompletionRequest): Promise<GeneratedCompletion> {
  return retryUpstreamCall(request, async (deadline) => {
    const result = await request.model.languageModel.doGenerate(toCallOptions(request, deadline.signal));
    refuseDroppedSettings(result.warnings);
    let text = "";
    let reasoning = "";
    const toolCalls: ToolCall[] = [];
    for (const part of result.content) {
      if (part.type === "text") text += part.text;
      else if (part.type === "reasoning") reasoning += part.text;
      // Tools the provider ran itself (its web search, say) are not the client's to answer.
      else if (part.type === "tool-call" && part.providerExecuted !== true) {
        toolCalls.push({ id: part.toolCallId, name: part.toolName, arguments: part.input });
      }
    }
    return {
      text,
      reasoning,
      toolCalls,
      finishReason: finishReasonFromLanguageModel(result.finishReason),
      usage: usageFromLanguageModel(result.usage),
      responseModel: result.response?.modelId,
    };
  });
}
