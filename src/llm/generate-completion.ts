import {
  type CompletionRequest,
  type CompletionResult,
  timeoutError,
  toCallOptions,
  toFinishReason,
  toTokenUsage,
} from "./completion-request.ts";
import { mapUpstreamError } from "./map-upstream-error.ts";
import { planRetry, waitBeforeRetry } from "./plan-retry.ts";
import { UpstreamDeadline } from "./upstream-deadline.ts";

/**
 * The whole reply at once (the provider's non-streaming API), retried on transient failures.
 * `LLM_TIMEOUT_MS` bounds each attempt: nothing reaches us before the whole reply does.
 */
export async function generateCompletion(
  request: CompletionRequest,
): Promise<CompletionResult & { text: string }> {
  for (let attempt = 0; ; attempt += 1) {
    const deadline = new UpstreamDeadline({
      parent: request.signal,
      firstByteMs: request.limits.timeoutMs,
      idleMs: request.limits.idleTimeoutMs,
    });
    try {
      const result = await request.model.languageModel.doGenerate(toCallOptions(request, deadline.signal));
      let text = "";
      for (const part of result.content) if (part.type === "text") text += part.text;
      return {
        text,
        finishReason: toFinishReason(result.finishReason),
        usage: toTokenUsage(result.usage),
        responseModel: result.response?.modelId,
      };
    } catch (error) {
      if (request.signal.aborted) throw request.signal.reason;
      if (deadline.timeout) throw timeoutError(deadline.timeout);
      const plan = planRetry(error, attempt, request.limits);
      if (plan === undefined) throw mapUpstreamError(error);
      request.handle.retry(plan.reason);
      await waitBeforeRetry(plan.delayMs, request.signal);
    } finally {
      deadline.dispose();
    }
  }
}
