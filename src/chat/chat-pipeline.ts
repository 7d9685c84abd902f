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
import type { LlmCallEnd, LlmCallHandle, LlmCallKind } from "../llm/llm-call-observer.ts";
import type { ResolvedModel } from "../llm/model-registry.ts";
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
    const model = dependencies.modelRegistry.resolve(call.input.model);
    if (call.knowledgeLimit === undefined) {
      return {
        model,
        input: call.input,
        sources: undefined,
        admitted: await admitCall(call, model, call.input),
      };
    }
    const grounded = await groundChatInput(call.input, {
      store: dependencies.knowledgeStore,
      limit: call.knowledgeLimit,
      // The context is a message like any other, and it fits in what MAX_INPUT_CHARS leaves.
      maxContextChars: Math.min(config.maxMessageChars, config.maxInputChars - inputChars(call.input)),
    });
    checkInputChars(grounded.input, config);
    const admitted = await admitCall(call, model, grounded.input);
    return { model, input: grounded.input, sources: grounded.sources, admitted };
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
    async respond(call) {
      const { request, reply } = call;
      const { model, input, sources, admitted } = await admit(call);
      const protocol = call.protocol(replyContext(request, model, sources));
      const source = sourceFor(model, protocol.wireFormat, call.untranslated);
      const signal = watchClientDisconnect(reply.raw);
      const handle = observe(call, model, input, false, admitted);
      let generated: Awaited<ReturnType<ChatSource["generate"]>>;
      try {
        generated = await source.generate(
          sourceCall(model, input, signal, handle, limits, false, call.wireBody),
        );
      } catch (error) {
        if (signal.aborted) {
          handle.end({ outcome: "client_disconnected", output: "" });
          // There is no one left to answer.
          reply.hijack();
          return reply;
        }
        const serviceError = toServiceError(error);
        handle.end({ outcome: "error", errorType: serviceError.code, output: "" });
        throw serviceError;
      }
      handle.chunk();
      handle.end(successEnd(generated, generated.text));
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
      const { model, input, sources, admitted } = await admit(call);
      const protocol = call.protocol(replyContext(request, model, sources));
      const source = sourceFor(model, protocol.wireFormat, call.untranslated);
      const passthrough = source.wireFormat !== undefined;
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
          output += delta;
          handle.chunk();
          // A relayed source writes its own frames next; the delta is only observed.
          return passthrough ? undefined : open().write(protocol.text(delta));
        },
        frames: (frames) => open().write(frames),
      };

      try {
        if (protocol.opensEarly) open();
        const outcome = await source.stream(
          sourceCall(model, input, signal, handle, limits, call.includeUsage === true, call.wireBody),
          sink,
        );
        open().end(protocol.finish(outcome, { passthrough }));
        handle.end(successEnd(outcome, output));
      } catch (error) {
        if (signal.aborted && interruption === undefined) {
          handle.end({ outcome: "client_disconnected", output });
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
        handle.end({ outcome: "error", errorType: serviceError.code, output });
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
  const source =
    SOURCES.find(
      (candidate) =>
        (candidate.wireFormat === undefined || candidate.wireFormat === wireFormat) &&
        candidate.serves(model),
    ) ?? languageModelSource;
  if (source.wireFormat === undefined && untranslated !== undefined) {
    throw new ServiceError({
      code: "UNSUPPORTED_PARAMETER",
      message: `${model.name} cannot take \`${untranslated.param}\`: ${untranslated.reason}. Leave it out, or use a model whose provider speaks Chat Completions.`,
      param: untranslated.param,
    });
  }
  return source;
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
