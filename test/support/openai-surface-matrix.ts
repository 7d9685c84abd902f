/**
 * What `/v1/chat/completions` and `/v1/embeddings` do for each feature and provider: it works, or
 * it is refused with a 400 whose `param` names the field. The conformance suites in
 * `test/conformance/` check every cell with real clients, and `test/readme-matrix.test.ts` checks
 * that the README's table is this one.
 */

/** The providers, as the matrix names them, and the model a client sends to reach each. */
export const PROVIDER_MODELS = {
  "OpenAI-compatible relay": "openai:fake-model",
  ollama: "ollama:fake-model",
  anthropic: "anthropic:claude-sonnet-4-5",
  echo: "echo",
} as const;

export type ProviderLabel = keyof typeof PROVIDER_MODELS;
export const PROVIDERS = Object.keys(PROVIDER_MODELS) as ProviderLabel[];

/** `true`: it works. A string: a 400 naming that param (or a field under it). */
export type Outcome = true | string;

export type Feature =
  | "plain chat"
  | "stream"
  | "tool call"
  | "tool call, streamed"
  | "tool-result round trip"
  | "parallel tool calls"
  | "json_schema output"
  | "image part"
  | "extra parameters"
  | "n > 1"
  | "logprobs"
  | "embeddings";

const relay = (outcome: Outcome): Record<"OpenAI-compatible relay" | "ollama", Outcome> => ({
  "OpenAI-compatible relay": outcome,
  ollama: outcome,
});

export const MATRIX: Readonly<Record<Feature, Readonly<Record<ProviderLabel, Outcome>>>> = {
  "plain chat": { ...relay(true), anthropic: true, echo: true },
  stream: { ...relay(true), anthropic: true, echo: true },
  "tool call": { ...relay(true), anthropic: true, echo: "tools" },
  "tool call, streamed": { ...relay(true), anthropic: true, echo: "tools" },
  "tool-result round trip": { ...relay(true), anthropic: true, echo: "tools" },
  "parallel tool calls": { ...relay(true), anthropic: true, echo: "tools" },
  "json_schema output": { ...relay(true), anthropic: true, echo: "response_format" },
  "image part": { ...relay(true), anthropic: true, echo: "messages" },
  // vLLM's `repetition_penalty`, `top_k` and `chat_template_kwargs`: passed on as sent by the relay.
  "extra parameters": { ...relay(true), anthropic: "repetition_penalty", echo: "repetition_penalty" },
  "n > 1": { ...relay(true), anthropic: "n", echo: "n" },
  logprobs: { ...relay(true), anthropic: "logprobs", echo: "logprobs" },
  embeddings: { ...relay(true), anthropic: "model", echo: true },
};

export const FEATURES = Object.keys(MATRIX) as Feature[];

/** Whether a refused request's `param` is the one the matrix names, or a field under it. */
export function namesParam(param: unknown, expected: string): boolean {
  return typeof param === "string" && (param === expected || param.startsWith(`${expected}.`));
}

export type MessagesFeature =
  | "/v1/messages JSON"
  | "/v1/messages stream"
  | "/v1/messages tool use"
  | "/v1/messages tool use, streamed"
  | "/v1/messages tool-result round trip"
  | "/v1/messages image";

/**
 * The same for `/v1/messages` with the `@anthropic-ai/sdk` client (`test/conformance/anthropic-sdk.test.ts`):
 * relayed natively to `anthropic`, translated for every other provider. A refusal is Anthropic's
 * `invalid_request_error`, whose message names the field.
 */
export const MESSAGES_MATRIX: Readonly<Record<MessagesFeature, Readonly<Record<ProviderLabel, Outcome>>>> = {
  "/v1/messages JSON": { ...relay(true), anthropic: true, echo: true },
  "/v1/messages stream": { ...relay(true), anthropic: true, echo: true },
  "/v1/messages tool use": { ...relay(true), anthropic: true, echo: "tools" },
  "/v1/messages tool use, streamed": { ...relay(true), anthropic: true, echo: "tools" },
  "/v1/messages tool-result round trip": { ...relay(true), anthropic: true, echo: "tools" },
  "/v1/messages image": { ...relay(true), anthropic: true, echo: "messages" },
};

export const MESSAGES_FEATURES = Object.keys(MESSAGES_MATRIX) as MessagesFeature[];

/** Both matrices as the README shows them, in one table. */
export function renderMatrix(): string {
  const header = `| Feature | ${PROVIDERS.join(" | ")} |`;
  const rule = `|---|${PROVIDERS.map(() => "---").join("|")}|`;
  const row = (feature: string, outcomes: Readonly<Record<ProviderLabel, Outcome>>) =>
    `| ${feature} | ${PROVIDERS.map((provider) => {
      const outcome = outcomes[provider];
      return outcome === true ? "✓" : `400 \`${outcome}\``;
    }).join(" | ")} |`;
  return [
    header,
    rule,
    ...FEATURES.map((feature) => row(feature, MATRIX[feature])),
    ...MESSAGES_FEATURES.map((feature) => row(feature, MESSAGES_MATRIX[feature])),
  ].join("\n");
}
