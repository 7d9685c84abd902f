import type { FastifyReply } from "fastify";
import { ServiceError } from "../errors/service-error.ts";
import { watchClientDisconnect } from "../http/client-disconnect.ts";
import { noopLlmCallHandle } from "../llm/llm-call-observer.ts";
import { relayAnthropicTokenCount } from "../llm/relay-anthropic-messages.ts";
import type { ChatDependencies } from "./chat-dependencies.ts";
import type { WireHeaders } from "./chat-source.ts";

/** One `POST /v1/messages/count_tokens` as the route asks for it. */
export type TokenCountCall = Readonly<{
  reply: FastifyReply;
  /** The client's body, passed on with only `model` replaced. */
  body: Readonly<Record<string, unknown>> & { model?: string };
  wireHeaders: WireHeaders;
}>;

/**
 * Counts a Messages request's input tokens where the provider can: the `anthropic` provider's own
 * `count_tokens`, relayed with the same retries and time limits as a model call. Any other provider
 * has no such endpoint, and a count made up here would be wrong for its tokenizer, so it is a 400
 * that says so. Resolves with the upstream's JSON, or undefined once the client has gone.
 */
export async function countMessageTokens(
  dependencies: Pick<ChatDependencies, "config" | "router">,
  call: TokenCountCall,
): Promise<string | undefined> {
  const { config } = dependencies;
  const group = dependencies.router.group(call.body.model);
  // Any of the model's anthropic deployments can count: they serve the same model.
  const counting = group.deployments.find((deployment) => deployment.model.anthropicMessages !== undefined);
  const model = counting?.model ?? group.clientModel;
  const upstream = model.anthropicMessages;
  if (upstream === undefined) {
    throw new ServiceError({
      code: "TOKEN_COUNT_UNAVAILABLE",
      message: `${model.name} cannot count tokens: its provider (${model.provider}) has no token-counting endpoint; only anthropic models have one.`,
      param: "model",
    });
  }
  const signal = watchClientDisconnect(call.reply.raw);
  try {
    return await relayAnthropicTokenCount({
      upstream,
      body: JSON.stringify({ ...call.body, model: model.modelId }),
      clientHeaders: call.wireHeaders,
      signal,
      handle: noopLlmCallHandle,
      limits: {
        timeoutMs: config.llmTimeoutMs,
        idleTimeoutMs: config.llmIdleTimeoutMs,
        maxRetries: config.llmMaxRetries,
      },
    });
  } catch (error) {
    if (signal.aborted) return undefined;
    throw error;
  }
}
