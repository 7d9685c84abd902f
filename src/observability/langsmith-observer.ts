import { RunTree } from "langsmith";
import {
  type LlmCallEnd,
  type LlmCallHandle,
  type LlmCallObserver,
  type LlmCallStart,
  operationName,
} from "../llm/llm-call-observer.ts";
import type { LangSmithTracing } from "./langsmith-tracing.ts";

/** The tag every run of this service carries, so its runs can be found among others in a project. */
export const SERVICE_TAG = "llm-api-service";

export type LangSmithObserverOptions = {
  langsmith: LangSmithTracing;
  environmentName: string;
};

/**
 * A LangSmith run per model call, named after the endpoint kind (`chat`, `chat_stream_sse`, ...),
 * with the messages (an embeddings call's texts) as inputs and the text and usage as outputs. The
 * run is sent once, when the call ends, so a call costs one queued item and no request of its own.
 */
export function createLangSmithObserver(options: LangSmithObserverOptions): LlmCallObserver {
  const { langsmith, environmentName } = options;
  return {
    start(call: LlmCallStart): LlmCallHandle {
      const embeddings = operationName(call.kind) === "embeddings";
      const run = new RunTree({
        name: call.kind,
        run_type: embeddings ? "embedding" : "llm",
        project_name: langsmith.projectName,
        client: langsmith.client,
        tracingEnabled: true,
        tags: [SERVICE_TAG, environmentName, call.kind],
        metadata: {
          request_id: call.requestId,
          path: call.path,
          method: call.method,
          ls_provider: call.provider,
          ls_model_name: call.model,
          ls_model_type: embeddings ? "embedding" : "chat",
          streaming: call.streaming,
        },
        inputs: embeddings
          ? { input: call.input ?? [], ...parametersOf(call) }
          : { messages: call.messages, ...parametersOf(call) },
      });
      return new LangSmithCall(run);
    },
  };
}

function parametersOf(call: LlmCallStart): Record<string, unknown> {
  const { temperature, maxTokens, topP, topK, stop, seed, presencePenalty, frequencyPenalty, tools } =
    call.parameters;
  const parameters: Record<string, unknown> = { model: call.model };
  // In OpenAI's words, as LangSmith shows a run's invocation parameters.
  const named: [string, unknown][] = [
    ["temperature", temperature],
    ["max_tokens", maxTokens],
    ["top_p", topP],
    ["top_k", topK],
    ["stop", stop],
    ["seed", seed],
    ["presence_penalty", presencePenalty],
    ["frequency_penalty", frequencyPenalty],
    ["tools", tools],
  ];
  for (const [name, value] of named) if (value !== undefined) parameters[name] = value;
  return parameters;
}

class LangSmithCall implements LlmCallHandle {
  readonly #run: RunTree;
  #sawChunk = false;
  #retries = 0;
  #ended = false;

  constructor(run: RunTree) {
    this.#run = run;
  }

  chunk(): void {
    // LangSmith derives time to first token from the first `new_token` event; later ones add nothing.
    if (this.#sawChunk) return;
    this.#sawChunk = true;
    this.#run.addEvent({ name: "new_token", time: new Date().toISOString() });
  }

  retry(reason: string): void {
    this.#retries += 1;
    this.#run.addEvent({ name: "retry", time: new Date().toISOString(), kwargs: { reason } });
  }

  end(result: LlmCallEnd): void {
    if (this.#ended) return;
    this.#ended = true;
    const run = this.#run;
    const usage =
      result.inputTokens !== undefined || result.outputTokens !== undefined
        ? {
            input_tokens: result.inputTokens ?? 0,
            output_tokens: result.outputTokens ?? 0,
            total_tokens: (result.inputTokens ?? 0) + (result.outputTokens ?? 0),
          }
        : undefined;
    const outputs = {
      output: result.output,
      finish_reason: result.finishReason,
      response_model: result.responseModel,
      usage_metadata: usage,
    };
    const error =
      result.outcome === "success"
        ? undefined
        : result.outcome === "client_disconnected"
          ? "client_disconnected"
          : (result.errorType ?? "error");
    // postRun reports its own failures (LangSmith down) and never rejects into the request path.
    void run
      .end(outputs, error, Date.now(), { outcome: result.outcome, retries: this.#retries, usage })
      .then(() => run.postRun())
      .catch(() => {});
  }

  upstreamHeaders(): Record<string, string> {
    return {};
  }
}
