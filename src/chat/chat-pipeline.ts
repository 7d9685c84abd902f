import type { FastifyReply, FastifyRequest } from "fastify";
import { ServiceError } from "../errors/service-error.ts";
import { watchClientDisconnect } from "../http/client-disconnect.ts";
import { sendError } from "../http/error-handler.ts";
import type { AdmittedModelCall } from "../http/model-call-admission.ts";
import { routeLabel } from "../http/route-label.ts";
import { toServiceError } from "../http/to-service-error.ts";
import { groundChatInput } from "../knowledge/ground-chat-input.ts";
import type { ChatInput } from "../llm/chat-input.ts";
import type { UpstreamLimits } from "../llm/completion-request.ts";
import { type FeatureUse, unsupportedFeature } from "../llm/language-model-capabilities.ts";
import type { LlmCallEnd, LlmCallHandle, LlmCallKind, LlmCallMessage } from "../llm/llm-call-observer.ts";
import type { ResolvedModel } from "../llm/model-registry.ts";
import type { DeploymentGroup } from "../routing/deployment-group.ts";
import { deploymentHeaderValue } from "../routing/deployment-header.ts";
import { type RoutedTarget, runRoutedCall } from "../routing/run-routed-call.ts";
import type { ChatDependencies } from "./chat-dependencies.ts";
import type {
  ChatSource,
  ReplyOutcome,
  ReplySink,
  SourceCall,
  UntranslatedField,
  WireFormat,
} from "./chat-source.ts";
import { checkChatLimits, checkInputChars, inputChars } from "./check-chat-limits.ts";
import { countMessageTokens, type TokenCountCall } from "./count-message-tokens.ts";
import { openReplyWriter, type ReplyWriter } from "./open-reply-writer.ts";
import type { JsonProtocol, ProtocolFactory, ReplyContext, StreamProtocol } from "./reply-protocol.ts";
import { anthropicMessagesRelaySource } from "./sources/anthropic-messages-relay-source.ts";
import { chatCompletionsRelaySource } from "./sources/chat-completions-relay-source.ts";
import { languageModelSource } from "./sources/language-model-source.ts";

/** One model call as a route asks for it. */
export type ChatCall<Reply extends FastifyReply = FastifyReply> = Readonly<{
  request: FastifyRequest;
  /** The route's own reply, which `respond` may hand back for the handler to return. */
  reply: Reply;
  kind: LlmCallKind;
  input: ChatInput;
  /** Ground the reply on this many knowledge chunks; undefined for none. */
  knowledgeLimit?: number;
  /** The knowledge collection grounding searches; `default` when absent. */
  knowledgeCollection?: string;
  /** Whose documents grounding searches (see `ownerFilterFor`); set with `knowledgeLimit`. */
  knowledgeOwner?: string | null;
  /** The client's body in the protocol's wire format: a source that speaks it passes it on as is. */
  wireBody?: Readonly<Record<string, unknown>>;
  /** The client's headers about the wire format's API, passed on with `wireBody`. */
  wireHeaders?: SourceCall["wireHeaders"];
  /** What of `wireBody` `input` leaves out: a 400 naming it when the language-model source serves. */
  untranslated?: UntranslatedField;
  /** What the request asks of the model beyond text, by field: refused by name where unsupported. */
  features?: readonly FeatureUse[];
}>;

export type ChatPipeline = {
  /**
   * The whole reply: what the route handler returns (the protocol's body, or the reply once a
   * source's own JSON was sent, or once the client left).
   */
  respond<Body, Reply extends FastifyReply>(
    call: ChatCall<Reply> & { protocol: ProtocolFactory<JsonProtocol<Body>> },
  ): Promise<Body | Reply>;
  /** The reply streamed as `protocol` frames it; always ends the response. */
  stream(
    call: ChatCall & { protocol: ProtocolFactory<StreamProtocol>; includeUsage?: boolean },
  ): Promise<void>;
  /** A Messages request's input tokens, counted by its provider (see `countMessageTokens`). */
  countTokens(call: TokenCountCall): Promise<string | undefined>;
};

/** The first source that can call the model and speaks the protocol's format, or any format. */
const SOURCES: readonly ChatSource[] = [
  chatCompletionsRelaySource,
  anthropicMessagesRelaySource,
  languageModelSource,
];

/**
 * Owns one model call from admission to the last byte, for every endpoint: limits, model, knowledge
 * grounding, the stream slot, the client-disconnect abort, the source (with its retries and time
 * limits), backpressure, and the observation (metrics, log line, span, LangSmith run), ended
 * exactly once. Protocols only frame; sources only produce.
 */
export function createChatPipeline(dependencies: ChatDependencies): ChatPipeline {
  const { config, streamSlots } = dependencies;
  const limits: UpstreamLimits = {
    timeoutMs: config.llmTimeoutMs,
    idleTimeoutMs: config.llmIdleTimeoutMs,
    maxRetries: config.llmMaxRetries,
  };

  /** Checks, model and grounding: before a slot is taken or anything is sent. */
  const admit = async (call: ChatCall) => {
    checkChatLimits(call.input, config);
    const group = dependencies.router.group(call.input.model);
    const model = group.clientModel;
    if (call.knowledgeLimit === undefined) {
      return {
        group,
        model,
        input: call.input,
        sources: undefined,
        wireBody: call.wireBody,
        admitted: await admitCall(call, model, call.input),
      };
    }
    const grounded = await groundChatInput(call.input, {
      store: dependencies.knowledgeStore,
      limit: call.knowledgeLimit,
      collection: call.knowledgeCollection,
      owner: call.knowledgeOwner,
      // The context is a message like any other, and it fits in what MAX_INPUT_CHARS leaves.
      maxContextChars: Math.min(config.maxMessageChars, config.maxInputChars - inputChars(call.input)),
    });
    checkInputChars(grounded.input, config);
    // A relayed body carries the same context message, where the input has it.
    const wireBody =
      grounded.context === undefined || call.wireBody === undefined
        ? call.wireBody
        : withContextMessage(call.wireBody, grounded.context);
    const admitted = await admitCall(call, model, grounded.input);
    return { group, model, input: grounded.input, sources: grounded.sources, wireBody, admitted };
  };

  /**
   * Runs `call` on the model's deployments (failing over, then falling back, before the first byte
   * reaches the client), each attempt through the source its deployment's provider calls for.
   */
  const route = <T>(
    call: ChatCall,
    group: DeploymentGroup,
    servable: Servability,
    options: {
      signal: AbortSignal;
      handle: LlmCallHandle;
      served: Served;
      mayFailOver?: () => boolean;
    },
    attempt: (source: ChatSource, target: RoutedTarget) => Promise<T>,
  ): Promise<T> => {
    return runRoutedCall(
      dependencies.router,
      group,
      {
        signal: options.signal,
        limits,
        handle: options.handle,
        accepts: servable.accepts,
        mayFailOver: options.mayFailOver,
        onAttempt: (target) => {
          options.served.target = target;
          // The answer says who served it, while its headers can still be set.
          if (!call.reply.raw.headersSent) {
            call.reply.header("x-llm-deployment", deploymentHeaderValue(deploymentName(target)));
            call.reply.header("x-llm-attempts", String(target.attempt));
          }
        },
      },
      (target) => attempt(servable.sourceFor(target.deployment.model), target),
    );
  };

  /** Keys' models, limits and budgets: last, so that nothing refused before holds a slot. */
  const admitCall = (call: ChatCall, model: ResolvedModel, input: ChatInput) =>
    dependencies.admission?.admit({
      request: call.request,
      reply: call.reply,
      model,
      texts: input.messages.map((message) => message.content),
      maxTokens: input.parameters.maxTokens,
    });

  const observe = (
    call: ChatCall,
    model: ResolvedModel,
    input: ChatInput,
    streaming: boolean,
    admitted: AdmittedModelCall | undefined,
  ) => {
    const handle = dependencies.llmCallObserver.start({
      requestId: call.request.id,
      kind: call.kind,
      path: routeLabel(call.request),
      method: call.request.method,
      provider: model.provider,
      model: model.modelId,
      streaming,
      messages: input.messages,
      parameters: input.parameters,
    });
    return admitted === undefined ? handle : admitted.observe(handle);
  };

  return {
    countTokens: (call) => countMessageTokens(dependencies, call),

    async respond(call) {
      const { request, reply } = call;
      const { group, model, input, sources, wireBody, admitted } = await admit(call);
      const protocol = call.protocol(replyContext(request, model, sources));
      const servable = servability(group, protocol.wireFormat, call);
      const signal = watchClientDisconnect(reply.raw);
      const handle = observe(call, model, input, false, admitted);
      const served: Served = {};
      let generated: Awaited<ReturnType<ChatSource["generate"]>>;
      try {
        generated = await route(call, group, servable, { signal, handle, served }, (source, target) =>
          source.generate(
            sourceCall(target.deployment.model, input, signal, handle, target.limits, false, {
              ...call,
              wireBody,
            }),
          ),
        );
      } catch (error) {
        if (signal.aborted) {
          handle.end({ outcome: "client_disconnected", output: "", ...servedBy(served) });
          // There is no one left to answer.
          reply.hijack();
          return reply;
        }
        const serviceError = toServiceError(error);
        handle.end({ outcome: "error", errorType: serviceError.code, output: "", ...servedBy(served) });
        throw serviceError;
      }
      handle.chunk();
      // A relay's own answer holds its tool calls; the relay counted them.
      const toolCallCount = generated.toolCallCount ?? generated.toolCalls.length;
      handle.end({ ...successEnd(generated, generated.text, toolCallCount), ...servedBy(served) });
      const body = protocol.body(generated);
      // Fastify sends a string as it is: only objects go through the response schema's serialiser.
      if (typeof body === "string") {
        reply.type("application/json; charset=utf-8").send(body);
        return reply;
      }
      return body;
    },

    async stream(call) {
      const { request, reply } = call;
      const { group, model, input, sources, wireBody, admitted } = await admit(call);
      const protocol = call.protocol(replyContext(request, model, sources));
      const servable = servability(group, protocol.wireFormat, call);
      // Set by each attempt's source: the relay's own frames pass through, the AI SDK's are framed.
      let passthrough = false;
      let replyStarted = false;
      const served: Served = {};
      // One controller for both ends of a stream: the client leaving, and the shutdown deadline.
      const controller = new AbortController();
      let interruption: ServiceError | undefined;
      const release = streamSlots.tryAcquire((reason) => {
        interruption = reason;
        controller.abort(reason);
      });
      if (release === undefined) {
        throw new ServiceError({
          code: "TOO_MANY_STREAMS",
          message: `This instance is serving its limit of ${streamSlots.limit} streams; retry shortly.`,
          retryAfterSeconds: 1,
        });
      }
      const signal = watchClientDisconnect(reply.raw, controller);
      const handle = observe(call, model, input, true, admitted);
      let output = "";
      let toolCalls = 0;
      let writer: ReplyWriter | undefined;
      const open = (): ReplyWriter => {
        if (writer !== undefined) return writer;
        writer = openReplyWriter(reply, protocol, config);
        const first = passthrough ? "" : protocol.start();
        if (first.length > 0) writer.write(first);
        return writer;
      };
      const sink: ReplySink = {
        text(delta) {
          replyStarted = true;
          output += delta;
          handle.chunk();
          // A relayed source writes its own frames next; the delta is only observed.
          return passthrough ? undefined : open().write(protocol.text(delta));
        },
        toolCall(delta) {
          replyStarted = true;
          if (delta.id !== undefined) toolCalls += 1;
          handle.chunk();
          if (protocol.toolCall === undefined) {
            // Only endpoints that take tools get tool calls; this names the mistake if one does not.
            throw new Error("The model made a tool call that this endpoint's protocol cannot frame.");
          }
          return open().write(protocol.toolCall(delta));
        },
        // Reasoning reaches only the protocols that carry it: no other client asked for it.
        reasoning: (delta) =>
          protocol.reasoning === undefined ? undefined : open().write(protocol.reasoning(delta)),
        frames: (frames) => {
          replyStarted = true;
          return open().write(frames);
        },
      };

      try {
        if (protocol.opensEarly) open();
        const outcome = await route(
          call,
          group,
          servable,
          { signal, handle, served, mayFailOver: () => !replyStarted },
          (source, target) => {
            passthrough = source.wireFormat !== undefined;
            return source.stream(
              sourceCall(
                target.deployment.model,
                input,
                signal,
                handle,
                target.limits,
                call.includeUsage === true,
                { ...call, wireBody },
              ),
              sink,
            );
          },
        );
        open().end(protocol.finish(outcome, { passthrough }));
        handle.end({
          ...successEnd(outcome, output, outcome.toolCallCount ?? toolCalls),
          ...servedBy(served),
        });
      } catch (error) {
        if (signal.aborted && interruption === undefined) {
          handle.end({ outcome: "client_disconnected", output, ...servedBy(served) });
          // Nothing can be sent any more; keep Fastify from trying.
          if (!reply.sent) reply.hijack();
          return;
        }
        const serviceError = interruption ?? toServiceError(error);
        const logLevel = serviceError.code === "INTERNAL_ERROR" ? "error" : "warn";
        request.log[logLevel](
          { err: serviceError.cause ?? serviceError, code: serviceError.code },
          "model call failed",
        );
        // Before the first byte a failure is still an HTTP error; after it, the protocol's error frame.
        if (writer === undefined) sendError(request, reply, serviceError);
        else writer.end(protocol.error(serviceError));
        handle.end({ outcome: "error", errorType: serviceError.code, output, ...servedBy(served) });
      } finally {
        release();
      }
    },
  };
}

/** Whose providers take a wire format's body whole, for the message that refuses a field. */
const NATIVE_PROVIDERS: Readonly<Record<WireFormat, string>> = {
  "openai-chat-completions": "a model whose provider speaks Chat Completions (openai, ollama)",
  "anthropic-messages": "an anthropic model",
};

/** Why `model` cannot take the call as it is, or undefined when it can. */
function refusal(
  model: ResolvedModel,
  wireFormat: WireFormat | undefined,
  call: Pick<ChatCall, "untranslated" | "features">,
): ServiceError | undefined {
  if (firstSource(model, wireFormat).wireFormat !== undefined) return undefined;
  const { untranslated } = call;
  if (untranslated !== undefined) {
    return new ServiceError({
      code: "UNSUPPORTED_PARAMETER",
      message: `${model.name} cannot take \`${untranslated.param}\`: ${untranslated.reason}. Leave it out, or use ${NATIVE_PROVIDERS[wireFormat ?? "openai-chat-completions"]}, to which the body is passed on as it is.`,
      param: untranslated.param,
    });
  }
  const unsupported = unsupportedFeature(model.provider, call.features ?? []);
  if (unsupported !== undefined) {
    return new ServiceError({
      code: "UNSUPPORTED_PARAMETER",
      message: `${model.name} cannot take \`${unsupported.param}\`: its provider (${model.provider}) does not support ${unsupported.description}. Leave it out, or use another model.`,
      param: unsupported.param,
    });
  }
  return undefined;
}

function firstSource(model: ResolvedModel, wireFormat: WireFormat | undefined): ChatSource {
  return (
    SOURCES.find(
      (candidate) =>
        (candidate.wireFormat === undefined || candidate.wireFormat === wireFormat) &&
        candidate.serves(model),
    ) ?? languageModelSource
  );
}

/** Which deployments' models can take one call, and through which source. */
type Servability = {
  /** Whether the call can go to `model` at all: the router passes over those that cannot. */
  accepts(model: ResolvedModel): boolean;
  /**
   * The first source that can call the model and speaks the protocol's format, or any format. The
   * language-model source takes only what its translation carries: anything else is refused by
   * name before the model is called, never dropped.
   */
  sourceFor(model: ResolvedModel): ChatSource;
};

/**
 * Refuses by name, before a slot is taken or the model called, a request no deployment's provider
 * can carry; one that some can goes only to those. Each model's answer is worked out once per call,
 * though the check, the router's choice and the attempt all ask for it.
 */
function servability(
  group: DeploymentGroup,
  wireFormat: WireFormat | undefined,
  call: Pick<ChatCall, "untranslated" | "features">,
): Servability {
  const known = new Map<ResolvedModel, ServiceError | undefined>();
  const refusalOf = (model: ResolvedModel): ServiceError | undefined => {
    if (known.has(model)) return known.get(model);
    const refused = refusal(model, wireFormat, call);
    known.set(model, refused);
    return refused;
  };
  const refusals = group.deployments.map((deployment) => refusalOf(deployment.model));
  if (!refusals.some((refused) => refused === undefined)) throw refusals[0];
  return {
    accepts: (model) => refusalOf(model) === undefined,
    sourceFor(model) {
      const refused = refusalOf(model);
      if (refused !== undefined) throw refused;
      return firstSource(model, wireFormat);
    },
  };
}

/** The attempt that is serving, or last tried to serve, a call. */
type Served = { target?: RoutedTarget };

/** `model/deployment`: a deployment's id is only unique within its model. */
function deploymentName(target: RoutedTarget): string {
  return `${target.group.name}/${target.deployment.id}`;
}

function servedBy(served: Served): Pick<LlmCallEnd, "deployment" | "attempts"> {
  const { target } = served;
  return target === undefined ? {} : { deployment: deploymentName(target), attempts: target.attempt };
}

function replyContext(
  request: FastifyRequest,
  model: ResolvedModel,
  sources: ReplyContext["sources"],
): ReplyContext {
  return { requestId: request.id, model, sources };
}

function sourceCall(
  model: ResolvedModel,
  input: ChatInput,
  signal: AbortSignal,
  handle: LlmCallHandle,
  limits: UpstreamLimits,
  includeUsage: boolean,
  call: Pick<ChatCall, "wireBody" | "wireHeaders">,
): SourceCall {
  const { wireBody, wireHeaders } = call;
  return { model, input, signal, handle, limits, includeUsage, wireBody, wireHeaders };
}

function successEnd(outcome: ReplyOutcome, output: string, toolCalls: number): LlmCallEnd {
  // The optional field is spread last: V8 defines every property after a spread one at a time in
  // its runtime, which cost this call (one a model call) six runtime calls, ~8,000 instructions
  // in callgrind.
  return {
    toolCalls,
    outcome: "success",
    responseModel: outcome.responseModel,
    finishReason: outcome.finishReason,
    inputTokens: outcome.usage?.inputTokens,
    outputTokens: outcome.usage?.outputTokens,
    output,
    ...(outcome.usage?.cachedInputTokens === undefined
      ? {}
      : { cachedInputTokens: outcome.usage.cachedInputTokens }),
  };
}

/** A Chat Completions body with the knowledge context after its leading system (and developer) messages. */
function withContextMessage(
  wireBody: Readonly<Record<string, unknown>>,
  context: LlmCallMessage,
): Readonly<Record<string, unknown>> {
  const messages = [...((wireBody.messages as readonly { role?: unknown }[] | undefined) ?? [])];
  const first = messages.findIndex((message) => message.role !== "system" && message.role !== "developer");
  messages.splice(first === -1 ? messages.length : first, 0, context);
  return { ...wireBody, messages };
}
