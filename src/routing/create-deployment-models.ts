import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAI } from "@ai-sdk/openai";
import type { Pool } from "undici";
import type { DeploymentSpec } from "../catalog/catalog.ts";
import { anthropicMessagesUpstream } from "../llm/anthropic-messages-upstream.ts";
import { chatCompletionsUpstream } from "../llm/chat-completions-upstreams.ts";
import { createEchoModel } from "../llm/echo-model.ts";
import type { ResolvedModel } from "../llm/model-registry.ts";

/** Where a deployment that names no `base_url` is: its provider's own API. */
const DEFAULT_BASE_URLS = {
  openai: "https://api.openai.com/v1",
  anthropic: "https://api.anthropic.com/v1",
  ollama: "http://127.0.0.1:11434/v1",
} as const;

export type DeploymentModels = {
  /** The model a deployment calls: its provider at its base URL with its key. */
  modelFor(spec: DeploymentSpec): ResolvedModel;
  /** Waits for the relayed requests in flight, then closes the connections. */
  close(): Promise<void>;
};

/**
 * Builds each deployment's language model (and its Chat Completions upstream, for `openai` and
 * `ollama`, or Messages upstream, for `anthropic`) from the deployment alone: its own base URL and key, never the environment's. Upstreams
 * of one origin share a keep-alive pool, across reloads too.
 */
export function createDeploymentModels(options: {
  echoDelayMs: number;
  fetch?: typeof globalThis.fetch;
}): DeploymentModels {
  const pools = new Map<string, Pool>();
  return {
    modelFor(spec) {
      const modelId = spec.model;
      const name = spec.provider === "echo" && modelId === "echo" ? "echo" : `${spec.provider}:${modelId}`;
      if (spec.provider === "echo") {
        return Object.freeze({
          name,
          provider: "echo",
          modelId,
          languageModel: createEchoModel({ modelId, delayMs: options.echoDelayMs }),
          chatCompletions: undefined,
        });
      }
      const baseURL = spec.baseUrl ?? DEFAULT_BASE_URLS[spec.provider];
      // A key-less server (a local vLLM) still gets a string: the SDK would otherwise read process.env.
      const apiKey = spec.apiKey ?? (spec.provider === "ollama" ? "ollama" : "");
      if (spec.provider === "anthropic") {
        const anthropic = createAnthropic({ name: "anthropic", baseURL, apiKey, fetch: options.fetch });
        return Object.freeze({
          name,
          provider: "anthropic",
          modelId,
          languageModel: anthropic.messages(modelId),
          chatCompletions: undefined,
          // `/v1/messages` relays to it natively, as `/v1/chat/completions` does to OpenAI's kind.
          anthropicMessages: anthropicMessagesUpstream(pools, baseURL, apiKey),
        });
      }
      const openai = createOpenAI({ name: spec.provider, baseURL, apiKey, fetch: options.fetch });
      return Object.freeze({
        name,
        provider: spec.provider,
        modelId,
        // Chat Completions, not the Responses API: it is what vLLM, llama.cpp and Ollama speak.
        languageModel: openai.chat(modelId),
        chatCompletions: chatCompletionsUpstream(pools, baseURL, apiKey),
      });
    },
    async close() {
      await Promise.all([...pools.values()].map((pool) => pool.close()));
    },
  };
}
