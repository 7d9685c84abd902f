import type { LlmCallObserver } from "../../src/llm/llm-call-observer.ts";
import { buildTestApp } from "./build-test-app.ts";
import { type FakeLlmUpstream, startFakeLlmUpstream } from "./fake-llm-upstream.ts";

export type ChatTestAppOptions = {
  environment?: Record<string, string>;
  llmCallObserver?: LlmCallObserver;
  /** Point the `ollama` provider at the fake upstream too (it speaks Chat Completions). */
  withOllama?: boolean;
};

/**
 * The real app listening on a real port, with its `openai` and `anthropic` providers pointed at a
 * fake upstream. The default model is `openai:fake-model`.
 */
export async function startChatTestApp(
  t: { after: (fn: () => unknown) => void },
  options: ChatTestAppOptions = {},
) {
  const upstream: FakeLlmUpstream = await startFakeLlmUpstream();
  const built = await buildTestApp({
    environment: {
      LLM_MODEL: "openai:fake-model",
      OPENAI_BASE_URL: upstream.baseUrl,
      OPENAI_API_KEY: "sk-test-openai",
      ANTHROPIC_BASE_URL: upstream.baseUrl,
      ANTHROPIC_API_KEY: "sk-test-anthropic",
      ECHO_DELAY_MS: "0",
      ...(options.withOllama === true ? { OLLAMA_BASE_URL: upstream.baseUrl } : {}),
      ...options.environment,
    },
    llmCallObserver: options.llmCallObserver,
  });
  const address = await built.app.listen({ port: 0, host: "127.0.0.1" });
  t.after(async () => {
    // The upstream first, so a stream a failed test left open ends and does not hold app.close().
    await upstream.close();
    await built.app.close();
  });
  const post = (path: string, body: unknown, init: RequestInit = {}) =>
    fetch(`${address}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      ...init,
    });
  return { ...built, upstream, address, post };
}
