import { ServiceError } from "../errors/service-error.ts";
import type { UpstreamLimits } from "./completion-request.ts";
import type { LlmCallHandle } from "./llm-call-observer.ts";
import { mapUpstreamError } from "./map-upstream-error.ts";
import { planRetry, waitBeforeRetry } from "./plan-retry.ts";
import { UpstreamDeadline, type UpstreamTimeoutError } from "./upstream-deadline.ts";

export type UpstreamCall = Readonly<{
  /** Aborts when the client goes away. */
  signal: AbortSignal;
  handle: LlmCallHandle;
  limits: UpstreamLimits;
}>;

/**
 * Runs `attempt` until it succeeds, each time under its own deadline (`LLM_TIMEOUT_MS`, then
 * `LLM_IDLE_TIMEOUT_MS`), retrying what `planRetry` allows while `mayRetry()` says nothing has
 * reached the client. Throws a ServiceError, or the signal's reason once the client has gone.
 */
export async function retryUpstreamCall<T>(
  call: UpstreamCall,
  attempt: (deadline: UpstreamDeadline) => Promise<T>,
  mayRetry: () => boolean = () => true,
): Promise<T> {
  for (let attemptIndex = 0; ; attemptIndex += 1) {
    const deadline = new UpstreamDeadline({
      parent: call.signal,
      firstByteMs: call.limits.timeoutMs,
      idleMs: call.limits.idleTimeoutMs,
    });
    try {
      return await attempt(deadline);
    } catch (error) {
      if (call.signal.aborted) throw call.signal.reason;
      if (deadline.timeout) throw timeoutError(deadline.timeout);
      const plan = mayRetry() ? planRetry(error, attemptIndex, call.limits) : undefined;
      if (plan === undefined) throw mapUpstreamError(error);
      call.handle.retry(plan.reason);
      await waitBeforeRetry(plan.delayMs, call.signal);
    } finally {
      deadline.dispose();
    }
  }
}

function timeoutError(timeout: UpstreamTimeoutError): ServiceError {
  return new ServiceError({ code: "UPSTREAM_TIMEOUT", message: timeout.message, cause: timeout });
}
