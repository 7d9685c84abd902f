import type { FastifyReply, FastifyRequest } from "fastify";
import { ServiceError } from "../errors/service-error.ts";
import { watchClientDisconnect } from "../http/client-disconnect.ts";
import { sendError } from "../http/error-handler.ts";
import { routeLabel } from "../http/route-label.ts";
import { toServiceError } from "../http/to-service-error.ts";
import { groundChatInput } from "../knowledge/ground-chat-input.ts";
import type { ChatInput } from "../llm/chat-input.ts";
import type { UpstreamLimits } from "../llm/completion-request.ts";
import type { LlmCallEnd, LlmCallHandle, LlmCallKind } from "../llm/llm-call-observer.ts";
import type { ResolvedModel } from "../llm/model-registry.ts";
import type { DeploymentGroup } from "../routing/deployment-group.ts";
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
import { openReplyWriter, type ReplyWriter } from "./open-reply-writer.ts";
import type { JsonProtocol, ProtocolFactory, ReplyContext, StreamProtocol } from "./reply-protocol.ts";
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
  /** The client's body in the protocol's wire format: a source that speaks it passes it on as is. */
  wireBody?: Readonly<Record<string, unknown>>;
  /** What of `wireBody` `input` leaves out: a 400 naming it when the language-model source serves. */
  untranslated?: UntranslatedField;
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
};

/** The first source that can call the model and speaks the protocol's format, or any format. */
const SOURCES: readonly ChatSource[] = [chatCompletionsRelaySource, languageModelSource];

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
    if (call.knowledgeLimit === undefined) return { group, model, input: call.input, sources: undefined };
    const grounded = await groundChatInput(call.input, {
      store: dependencies.knowledgeStore,
      limit: call.knowledgeLimit,
      // The context is a message like any other, and it fits in what MAX_INPUT_CHARS leaves.
      maxContextChars: Math.min(config.maxMessageChars, config.maxInputChars - inputChars(call.input)),
    });
    checkInputChars(grounded.input, config);
    return { group, model, input: grounded.input, sources: grounded.sources };
  };

  /**
   * Runs `call` on the model's deployments (failing over, then falling back, before the first byte
   * reaches the client), each attempt through the source its deployment's provider calls for.
   */
  const route = <T>(
    call: ChatCall,
    group: DeploymentGroup,
    wireFormat: WireFormat | undefined,
    options: {
      signal: AbortSignal;
      handle: LlmCallHandle;
      served: Served;
      mayFailOver?: () => boolean;
    },
    attempt: (source: ChatSource, target: RoutedTarget) => Promise<T>,
  ): Promise<T> => {
    const accepts = (model: ResolvedModel) => servable(model, wireFormat, call.untranslated);
    return runRoutedCall(
      dependencies.router,
      group,
      {
        signal: options.signal,
        limits,
        handle: options.handle,
        accepts,
        mayFailOver: options.mayFailOver,
        onAttempt: (target) => {
          options.served.target = target;
          // The answer says who served it, while its headers can still be set.
          if (!call.reply.raw.headersSent) {
            call.reply.header("x-llm-deployment", deploymentName(target));
            call.reply.header("x-llm-attempts", String(target.attempt));
          }
        },
      },
      (target) => attempt(sourceFor(target.deployment.model, wireFormat, call.untranslated), target),
    );
  };

  const observe = (call: ChatCall, model: ResolvedModel, input: ChatInput, streaming: boolean) =>
    dependencies.llmCallObserver.start({
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

  return {
    async respond(call) {
      const { request, reply } = call;
      const { group, model, input, sources } = await admit(call);
      const protocol = call.protocol(replyContext(request, model, sources));
      checkServable(group, protocol.wireFormat, call.untranslated);
      const signal = watchClientDisconnect(reply.raw);
      const handle = observe(call, model, input, false);
      const served: Served = {};
      let generated: Awaited<ReturnType<ChatSource["generate"]>>;
      try {
        generated = await route(
          call,
          group,
          protocol.wireFormat,
          { signal, handle, served },
          (source, target) =>
            source.generate(
              sourceCall(target.deployment.model, input, signal, handle, target.limits, false, call.wireBody),
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
      handle.end({ ...successEnd(generated, generated.text), ...servedBy(served) });
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
      const { group, model, input, sources } = await admit(call);
      const protocol = call.protocol(replyContext(request, model, sources));
      checkServable(group, protocol.wireFormat, call.untranslated);
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
      const handle = observe(call, model, input, true);
      let output = "";
      let writer: ReplyWriter | undefined;
      const open = (): ReplyWriter => {
        if (writer !== undefined) return writer;
        writer = openReplyWriter(reply, protocol.transport, config);
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
          protocol.wireFormat,
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
                call.wireBody,
              ),
              sink,
            );
          },
        );
        open().end(protocol.finish(outcome, { passthrough }));
        handle.end({ ...successEnd(outcome, output), ...servedBy(served) });
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

/**
 * The first source that can call the model and speaks the protocol's format, or any format. The
 * language-model source takes only what its translation carries: anything else is refused by name
 * before the model is called, never dropped.
 */
function sourceFor(
  model: ResolvedModel,
  wireFormat: WireFormat | undefined,
  untranslated: UntranslatedField | undefined,
): ChatSource {
  const source = firstSource(model, wireFormat);
  if (source.wireFormat === undefined && untranslated !== undefined) {
    throw new ServiceError({
      code: "UNSUPPORTED_PARAMETER",
      message: `${model.name} cannot take \`${untranslated.param}\`: ${untranslated.reason}. Leave it out, or use a model whose provider speaks Chat Completions.`,
      param: untranslated.param,
    });
  }
  return source;
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

/**
 * Refuses by name, before a slot is taken or the model called, a request no deployment's provider
 * can carry; one that some can goes only to those.
 */
function checkServable(
  group: DeploymentGroup,
  wireFormat: WireFormat | undefined,
  untranslated: UntranslatedField | undefined,
): void {
  if (group.deployments.some((deployment) => servable(deployment.model, wireFormat, untranslated))) return;
  sourceFor(group.deployments[0].model, wireFormat, untranslated);
}

/** Whether a deployment's model can take the call as it is (what `sourceFor` would not refuse). */
function servable(
  model: ResolvedModel,
  wireFormat: WireFormat | undefined,
  untranslated: UntranslatedField | undefined,
): boolean {
  return untranslated === undefined || firstSource(model, wireFormat).wireFormat !== undefined;
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
  wireBody: SourceCall["wireBody"],
): SourceCall {
  return { model, input, signal, handle, limits, includeUsage, wireBody };
}

function successEnd(outcome: ReplyOutcome, output: string): LlmCallEnd {
  return {
    outcome: "success",
    responseModel: outcome.responseModel,
    finishReason: outcome.finishReason,
    inputTokens: outcome.usage?.inputTokens,
    outputTokens: outcome.usage?.outputTokens,
    output,
  };
}
