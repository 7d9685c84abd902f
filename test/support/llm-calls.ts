import type { LlmCallStart } from "../../src/llm/llm-call-observer.ts";

/** A model call as the chat layer would report it; tests override what they look at. */
export function llmCall(overrides: Partial<LlmCallStart> = {}): LlmCallStart {
  return {
    requestId: "req-test",
    kind: "chat",
    path: "/chat",
    method: "POST",
    provider: "openai",
    model: "gpt-4o-mini",
    streaming: false,
    messages: [{ role: "user", content: "Say hello" }],
    parameters: { temperature: 0.2, maxTokens: 64 },
    ...overrides,
  };
}
