import { setTimeout as sleep } from "node:timers/promises";
import type {
  LanguageModelV4,
  LanguageModelV4CallOptions,
  LanguageModelV4FinishReason,
  LanguageModelV4GenerateResult,
  LanguageModelV4Prompt,
  LanguageModelV4StreamPart,
  LanguageModelV4StreamResult,
  LanguageModelV4Usage,
} from "@ai-sdk/provider";

export type EchoModelOptions = {
  modelId: string;
  /** Pause between streamed tokens, so the echo model streams like a real one. */
  delayMs: number;
};

/** Words with the whitespace that follows them, so the tokens join back into the exact text. */
const TOKEN = /\s+|\S+\s*/g;

/**
 * The built-in model: no key, no network, deterministic. It implements the AI SDK's language model
 * specification so every route exercises the same code path as with a real provider.
 */
export function createEchoModel(options: EchoModelOptions): LanguageModelV4 {
  return {
    specificationVersion: "v4",
    provider: "echo",
    modelId: options.modelId,
    supportedUrls: {},

    async doGenerate(call: LanguageModelV4CallOptions): Promise<LanguageModelV4GenerateResult> {
      throwIfAborted(call.abortSignal);
      const answer = composeAnswer(call);
      return {
        content: [{ type: "text", text: answer.tokens.join("") }],
        finishReason: answer.finishReason,
        usage: usage(answer.inputTokens, answer.tokens.length),
        response: { modelId: options.modelId, timestamp: new Date() },
        warnings: [],
      };
    },

    async doStream(call: LanguageModelV4CallOptions): Promise<LanguageModelV4StreamResult> {
      throwIfAborted(call.abortSignal);
      const answer = composeAnswer(call);
      const signal = call.abortSignal;
      let index = 0;
      const stream = new ReadableStream<LanguageModelV4StreamPart>({
        start(controller) {
          controller.enqueue({ type: "stream-start", warnings: [] });
          controller.enqueue({ type: "response-metadata", modelId: options.modelId, timestamp: new Date() });
          controller.enqueue({ type: "text-start", id: "0" });
        },
        async pull(controller) {
          if (index < answer.tokens.length) {
            if (index > 0 && options.delayMs > 0) await sleep(options.delayMs, undefined, { signal });
            throwIfAborted(signal);
            controller.enqueue({ type: "text-delta", id: "0", delta: answer.tokens[index] });
            index += 1;
            return;
          }
          controller.enqueue({ type: "text-end", id: "0" });
          controller.enqueue({
            type: "finish",
            finishReason: answer.finishReason,
            usage: usage(answer.inputTokens, answer.tokens.length),
          });
          controller.close();
        },
      });
      return { stream };
    },
  };
}

type EchoAnswer = { tokens: string[]; inputTokens: number; finishReason: LanguageModelV4FinishReason };

function composeAnswer(call: LanguageModelV4CallOptions): EchoAnswer {
  const lastUserMessage = lastUserText(call.prompt);
  let text = `This is the echo model, built in for trying the service without a real one (set LLM_MODEL). You said: ${lastUserMessage}`;
  let finishReason: LanguageModelV4FinishReason = { unified: "stop", raw: "stop" };
  // Honour stop sequences and the token limit the way a real model would, so clients can test them.
  for (const stop of call.stopSequences ?? []) {
    const at = stop.length > 0 ? text.indexOf(stop) : -1;
    if (at >= 0) text = text.slice(0, at);
  }
  let tokens: string[] = text.match(TOKEN) ?? [];
  if (call.maxOutputTokens !== undefined && tokens.length > call.maxOutputTokens) {
    tokens = tokens.slice(0, call.maxOutputTokens);
    finishReason = { unified: "length", raw: "length" };
  }
  return { tokens, inputTokens: countPromptTokens(call.prompt), finishReason };
}

function lastUserText(prompt: LanguageModelV4Prompt): string {
  for (let index = prompt.length - 1; index >= 0; index -= 1) {
    const message = prompt[index];
    if (message.role !== "user") continue;
    return message.content.map((part) => (part.type === "text" ? part.text : "")).join("");
  }
  return "";
}

function countPromptTokens(prompt: LanguageModelV4Prompt): number {
  let count = 0;
  for (const message of prompt) {
    if (typeof message.content === "string") {
      count += countTokens(message.content);
      continue;
    }
    for (const part of message.content) if (part.type === "text") count += countTokens(part.text);
  }
  return count;
}

function countTokens(text: string): number {
  return text.match(TOKEN)?.length ?? 0;
}

function usage(inputTokens: number, outputTokens: number): LanguageModelV4Usage {
  return {
    inputTokens: { total: inputTokens, noCache: inputTokens, cacheRead: undefined, cacheWrite: undefined },
    outputTokens: { total: outputTokens, text: outputTokens, reasoning: undefined },
  };
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason;
}
