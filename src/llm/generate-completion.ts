import { type CompletionRequest, type CompletionResult, toCallOptions } from "./completion-request.ts";
import { finishReasonFromLanguageModel } from "./finish-reason.ts";
import { retryUpstreamCall } from "./retry-upstream-call.ts";
import { usageFromLanguageModel } from "./token-usage.ts";

/**
 * The whole reply at once (the provider's non-streaming API), retried on transient failures.
 * `LLM_TIMEOUT_MS` bounds each attempt: nothing reaches us before the whole reply does.
 */
export async function generateCompletion(
  request: CompletionRequest,
): Promise<CompletionResult & { text: string }> {
  return retryUpstreamCall(request, async (deadline) => {
    const result = await request.model.languageModel.doGenerate(toCallOptions(request, deadline.signal));
    let text = "";
    for (const part of result.content) if (part.type === "text") text += part.text;
    return {
      text,
      finishReason: finishReasonFromLanguageModel(result.finishReason),
      usage: usageFromLanguageModel(result.usage),
      responseModel: result.response?.modelId,
    };
  });
}
