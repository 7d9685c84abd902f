import type { LanguageModelV4 } from "@ai-sdk/provider";
import { ConfigError } from "../config.ts";
import { ServiceError } from "../errors/service-error.ts";
import { isPrintableText, NOT_PRINTABLE } from "../printable-text.ts";
import type { AnthropicMessagesUpstream } from "./anthropic-messages-upstream.ts";
import type { ChatCompletionsUpstream } from "./chat-completions-upstreams.ts";
import {
  type ModelFactory,
  PROVIDER_SETTINGS,
  type ProviderName,
  ProviderNames,
} from "./create-providers.ts";

export type ResolvedModel = Readonly<{
  /** As shown to clients: `provider:model`, or `echo` for the built-in model. */
  name: string;
  provider: ProviderName;
  /** The model as the provider knows it, without the prefix. */
  modelId: string;
  languageModel: LanguageModelV4;
  /** Set when the provider speaks Chat Completions, so `/v1/chat/completions` can relay to it. */
  chatCompletions: ChatCompletionsUpstream | undefined;
  /** Set for the `anthropic` provider, so `/v1/messages` can relay to its Messages API. */
  anthropicMessages?: AnthropicMessagesUpstream;
}>;

export type ModelRegistry = {
  readonly defaultModel: ResolvedModel;
  /** `provider:model`, a bare model of the default provider, or nothing for the default. */
  resolve(name?: string): ResolvedModel;
  /** The models this instance is configured to serve (`GET /v1/models`). */
  list(): readonly ResolvedModel[];
};

export type ModelRegistryOptions = {
  /** `LLM_MODEL`. */
  defaultModel: string;
  /** The configured providers; a model of any other is refused. */
  providers: Partial<Record<ProviderName, ModelFactory>>;
  /** The providers `/v1/chat/completions` relays to; without them it always goes through the AI SDK. */
  chatCompletionsUpstreams?: Partial<Record<ProviderName, ChatCompletionsUpstream>>;
  /** The `anthropic` provider's Messages API, which `/v1/messages` relays to natively. */
  anthropicMessagesUpstream?: AnthropicMessagesUpstream;
};

/** Clients choose model names, so the cache of built models is bounded. */
const CACHE_LIMIT = 256;

/** Turns `provider:model` into an AI SDK language model. */
export function createModelRegistry(options: ModelRegistryOptions): ModelRegistry {
  const cache = new Map<string, ResolvedModel>();

  const build = (provider: ProviderName, modelId: string): ResolvedModel | string => {
    const name = provider === "echo" && modelId === "echo" ? "echo" : `${provider}:${modelId}`;
    let model = cache.get(name);
    if (model === undefined) {
      // Checked once per name built: the cache only ever holds names that passed.
      if (!isPrintableText(name)) {
        return `A model name ${NOT_PRINTABLE}.`;
      }
      const factory = options.providers[provider];
      if (factory === undefined) {
        const settings = provider === "echo" ? "" : `; set ${PROVIDER_SETTINGS[provider]} to use it`;
        return `Model "${name}" needs the ${provider} provider, which is not configured on this service${settings}.`;
      }
      if (cache.size >= CACHE_LIMIT) cache.clear();
      model = Object.freeze({
        name,
        provider,
        modelId,
        languageModel: factory(modelId),
        chatCompletions: options.chatCompletionsUpstreams?.[provider],
        ...(provider === "anthropic" && options.anthropicMessagesUpstream !== undefined
          ? { anthropicMessages: options.anthropicMessagesUpstream }
          : {}),
      });
      cache.set(name, model);
    }
    return model;
  };

  const parse = (name: string, defaultProvider: ProviderName | undefined): ResolvedModel | string => {
    if (name === "echo") return build("echo", "echo");
    const colon = name.indexOf(":");
    if (colon < 0) {
      return defaultProvider === undefined
        ? `Model "${name}" names no provider; write provider:model (${ProviderNames.join(", ")}) or echo.`
        : build(defaultProvider, name);
    }
    const provider = name.slice(0, colon);
    const modelId = name.slice(colon + 1);
    if (!isProviderName(provider)) {
      return `Model "${name}" has an unknown provider "${provider}"; use one of ${ProviderNames.join(", ")}, as in "openai:gpt-4o-mini".`;
    }
    if (modelId.length === 0) return `Model "${name}" names no model after "${provider}:".`;
    return build(provider, modelId);
  };

  const configured = parse(options.defaultModel, undefined);
  if (typeof configured === "string") {
    throw new ConfigError("LLM_MODEL", `cannot be used: ${configured}`);
  }
  const defaultModel = configured;
  const echoModel = parse("echo", undefined);

  return {
    defaultModel,
    resolve(name) {
      if (name === undefined || name === "") return defaultModel;
      const resolved = parse(name, defaultModel.provider);
      if (typeof resolved === "string") {
        throw new ServiceError({ code: "UNKNOWN_MODEL", message: resolved, param: "model" });
      }
      return resolved;
    },
    list() {
      if (defaultModel.name === "echo" || typeof echoModel === "string") return [defaultModel];
      return [defaultModel, echoModel];
    },
  };
}

function isProviderName(value: string): value is ProviderName {
  return (ProviderNames as readonly string[]).includes(value);
}
