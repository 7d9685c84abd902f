import type { SharedV4ProviderOptions } from "@ai-sdk/provider";
import type { CompletionParameters } from "./completion-request.ts";

/**
 * What a chat request may ask of a model beyond plain text: each maps to something a provider
 * either honours or not. The AI SDK's providers drop what they cannot honour with only a warning,
 * so we check first and refuse by name instead.
 */
export type LanguageModelFeature =
  | "tools"
  | "parallel-tool-calls"
  | "images"
  | "audio"
  | "documents"
  | "json-output"
  | "seed"
  | "presence-penalty"
  | "frequency-penalty"
  | "top-k"
  | "reasoning";

/** A feature as one request uses it, and the request field (in the client's wire format) that asks. */
export type FeatureUse = Readonly<{ feature: LanguageModelFeature; param: string }>;

const DESCRIPTIONS: Readonly<Record<LanguageModelFeature, string>> = {
  tools: "tools",
  "parallel-tool-calls": "a limit on parallel tool calls",
  images: "image input",
  audio: "audio input",
  documents: "file input",
  "json-output": "JSON output",
  seed: "a sampling seed",
  "presence-penalty": "a presence penalty",
  "frequency-penalty": "a frequency penalty",
  "top-k": "top-k sampling",
  reasoning: "a reasoning effort",
};

/**
 * What each provider's API cannot take, as its AI SDK provider documents by warning. A provider
 * not listed takes everything; any setting it still drops is caught by its warning
 * (`refuseDroppedSettings`).
 */
const UNSUPPORTED: Readonly<Record<string, ReadonlySet<LanguageModelFeature>>> = {
  anthropic: new Set(["seed", "presence-penalty", "frequency-penalty", "audio"]),
  // The built-in model answers with the user's words: it honours stop sequences, the token limit
  // and (being deterministic) any sampling setting, and nothing that asks for other output.
  echo: new Set([
    "tools",
    "parallel-tool-calls",
    "images",
    "audio",
    "documents",
    "json-output",
    "presence-penalty",
    "frequency-penalty",
    "top-k",
    "reasoning",
  ]),
};

/** The first use the provider cannot honour, with what it is, to refuse the request by name. */
export function unsupportedFeature(
  provider: string,
  uses: readonly FeatureUse[],
): (FeatureUse & { description: string }) | undefined {
  const unsupported = UNSUPPORTED[provider];
  if (unsupported === undefined) return undefined;
  const use = uses.find((candidate) => unsupported.has(candidate.feature));
  return use === undefined ? undefined : { ...use, description: DESCRIPTIONS[use.feature] };
}

/** Settings that the AI SDK carries as a provider's own options rather than call options. */
export function providerOptionsFor(
  provider: string,
  parameters: CompletionParameters,
): SharedV4ProviderOptions | undefined {
  const singleToolCall = parameters.parallelToolCalls === false;
  const { endUser } = parameters;
  if (!singleToolCall && endUser === undefined) return undefined;
  switch (provider) {
    case "anthropic":
      return {
        anthropic: {
          ...(singleToolCall ? { disableParallelToolUse: true } : {}),
          ...(endUser === undefined ? {} : { metadata: { userId: endUser } }),
        },
      };
    case "openai":
    case "ollama":
      return {
        openai: {
          ...(singleToolCall ? { parallelToolCalls: false } : {}),
          ...(endUser === undefined ? {} : { user: endUser }),
        },
      };
    default:
      // The built-in echo model keeps no record of who asked.
      return undefined;
  }
}
