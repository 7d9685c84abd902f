import { performance } from "node:perf_hooks";
import type { Logger } from "pino";
import type { LlmCallEnd, LlmCallHandle, LlmCallObserver, LlmCallStart } from "../llm/llm-call-observer.ts";

/**
 * One log line per model call: request id, provider, model, tokens, time to first token, duration
 * and outcome. Only counts and names are logged, never messages or output, so prompts stay out of
 * the logs; the logger's scrubbing covers anything else.
 */
export function createLlmCallLogObserver(logger: Logger): LlmCallObserver {
  return { start: (call) => new LoggedCall(logger, call) };
}

class LoggedCall implements LlmCallHandle {
  readonly #logger: Logger;
  readonly #call: LlmCallStart;
  readonly #startTime = performance.now();
  #firstChunkTime = -1;
  #retries = 0;
  #ended = false;

  constructor(logger: Logger, call: LlmCallStart) {
    this.#logger = logger;
    this.#call = call;
  }

  chunk(): void {
    if (this.#firstChunkTime < 0) this.#firstChunkTime = performance.now();
  }

  retry(): void {
    this.#retries += 1;
  }

  end(result: LlmCallEnd): void {
    if (this.#ended) return;
    this.#ended = true;
    const call = this.#call;
    const line = {
      request_id: call.requestId,
      kind: call.kind,
      provider: call.provider,
      model: call.model,
      response_model: result.responseModel,
      streaming: call.streaming,
      input_tokens: result.inputTokens,
      output_tokens: result.outputTokens,
      cached_input_tokens: result.cachedInputTokens,
      tool_calls: result.toolCalls,
      time_to_first_token_ms:
        this.#firstChunkTime < 0 ? undefined : roundMs(this.#firstChunkTime - this.#startTime),
      duration_ms: roundMs(performance.now() - this.#startTime),
      retries: this.#retries,
      deployment: result.deployment,
      attempts: result.attempts,
      outcome: result.outcome,
      error_type: result.errorType,
      finish_reason: result.finishReason,
    };
    if (result.outcome === "error") this.#logger.warn(line, "model call failed");
    else this.#logger.info(line, "model call completed");
  }

  upstreamHeaders(): Record<string, string> {
    return {};
  }
}

function roundMs(milliseconds: number): number {
  return Math.round(milliseconds * 100) / 100;
}
