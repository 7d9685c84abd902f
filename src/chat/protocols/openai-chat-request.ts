import type { JSONSchema7, LanguageModelV4FunctionTool, LanguageModelV4ToolChoice } from "@ai-sdk/provider";
import type { ChatInput } from "../../llm/chat-input.ts";
import type { CompletionParameters, ReasoningEffort, ResponseFormat } from "../../llm/completion-request.ts";
import type { FeatureUse } from "../../llm/language-model-capabilities.ts";
import type { UntranslatedField } from "../chat-source.ts";
import { type OpenAIMessage, readOpenAIMessages } from "./openai-chat-messages.ts";
import { invalidField, RequestNotes } from "./request-notes.ts";

export type { OpenAIMessage } from "./openai-chat-messages.ts";

/** A Chat Completions body as the route's schema checked it; every other field is kept as sent. */
export type OpenAIChatBody = Readonly<Record<string, unknown>> & {
  model?: string | null;
  messages: readonly OpenAIMessage[];
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
};

type OpenAITool = {
  type?: unknown;
  function?: { name?: unknown; description?: unknown; parameters?: unknown; strict?: unknown };
};

/**
 * The fields the language-model source carries to any model (the AI SDK's call options); a source
 * that speaks Chat Completions itself (the relay) takes the body whole instead. A field outside
 * this table is refused for the language-model source, never dropped, unless it holds the value
 * that asks for nothing (`NO_OP_VALUES`).
 */
const TRANSLATED_FIELDS: ReadonlySet<string> = new Set([
  "model",
  "messages",
  "stream",
  "stream_options",
  "temperature",
  "top_p",
  "top_k",
  "max_tokens",
  "max_completion_tokens",
  "stop",
  "n",
  "tools",
  "tool_choice",
  "parallel_tool_calls",
  "functions",
  "function_call",
  "response_format",
  "presence_penalty",
  "frequency_penalty",
  "seed",
  "reasoning_effort",
]);

/** Values that ask for what happens anyway, so leaving them out changes nothing. */
const NO_OP_VALUES: Readonly<Record<string, (value: unknown) => boolean>> = {
  logprobs: (value) => value === false,
  top_logprobs: (value) => value === 0,
  store: (value) => value === false,
  service_tier: (value) => value === "auto",
  modalities: (value) => Array.isArray(value) && value.length === 1 && value[0] === "text",
};

const REASONING_EFFORTS: ReadonlySet<string> = new Set(["none", "minimal", "low", "medium", "high", "xhigh"]);

export type OpenAIChatRequest = {
  /** The conversation for limits, the observer and the language-model source. */
  input: ChatInput;
  /** The first field `input` leaves out; the language-model source refuses the request for it. */
  untranslated: UntranslatedField | undefined;
  /** What the request asks of the model beyond text, by field, for the provider's capabilities. */
  features: readonly FeatureUse[];
};

/** Reads a Chat Completions body into the chat layer's input, noting what the input cannot carry. */
export function readOpenAIChatRequest(body: OpenAIChatBody): OpenAIChatRequest {
  const notes = new RequestNotes();
  for (const [field, value] of Object.entries(body)) {
    if (value === null || value === undefined || TRANSLATED_FIELDS.has(field)) continue;
    if (NO_OP_VALUES[field]?.(value) !== true)
      notes.untranslatable(field, "the field has no translation for it");
  }
  if (typeof body.n === "number" && body.n > 1) notes.untranslatable("n", "it answers one choice at a time");

  // Tools first: a request that offers tools to a model without them is refused for `tools`.
  const tools = toolParameters(body, notes);
  const messages = readOpenAIMessages(body.messages, notes);
  const parameters: CompletionParameters = {
    temperature: numberField(body, "temperature"),
    topP: numberField(body, "top_p"),
    topK: usedNumber(body, "top_k", "top-k", notes),
    maxTokens: numberField(body, "max_completion_tokens") ?? numberField(body, "max_tokens"),
    stop:
      typeof body.stop === "string"
        ? [body.stop]
        : ((body.stop as readonly string[] | null | undefined) ?? undefined),
    seed: usedNumber(body, "seed", "seed", notes),
    presencePenalty: usedNumber(body, "presence_penalty", "presence-penalty", notes),
    frequencyPenalty: usedNumber(body, "frequency_penalty", "frequency-penalty", notes),
    reasoning: reasoningEffort(body, notes),
    responseFormat: responseFormat(body, notes),
    ...tools,
  };
  return {
    input: { model: body.model ?? undefined, messages, parameters },
    untranslated: notes.untranslated,
    features: notes.features,
  };
}

function numberField(body: OpenAIChatBody, field: string): number | undefined {
  const value = body[field];
  return typeof value === "number" ? value : undefined;
}

/** A number the provider must support: noted as the feature it is. */
function usedNumber(
  body: OpenAIChatBody,
  field: string,
  feature: Parameters<RequestNotes["uses"]>[0],
  notes: RequestNotes,
): number | undefined {
  const value = body[field];
  if (value === null || value === undefined) return undefined;
  if (typeof value !== "number") throw invalidField(field, "a number is required");
  notes.uses(feature, field);
  return value;
}

function reasoningEffort(body: OpenAIChatBody, notes: RequestNotes): ReasoningEffort | undefined {
  const effort = body.reasoning_effort;
  if (effort === null || effort === undefined) return undefined;
  if (typeof effort !== "string" || !REASONING_EFFORTS.has(effort)) {
    throw invalidField("reasoning_effort", `it is one of ${[...REASONING_EFFORTS].join(", ")}`);
  }
  notes.uses("reasoning", "reasoning_effort");
  return effort as ReasoningEffort;
}

/** `text` asks for nothing; `json_object` is JSON of any object; `json_schema` is the SDK's structured output. */
function responseFormat(body: OpenAIChatBody, notes: RequestNotes): ResponseFormat | undefined {
  const format = body.response_format as { type?: unknown; json_schema?: unknown } | null | undefined;
  if (format === null || format === undefined || format.type === "text") return undefined;
  switch (format.type) {
    case "json_object":
      notes.uses("json-output", "response_format");
      return { type: "json", schema: { type: "object" } };
    case "json_schema": {
      const jsonSchema = format.json_schema as
        | { name?: unknown; description?: unknown; schema?: unknown }
        | null
        | undefined;
      if (typeof jsonSchema?.name !== "string") {
        throw invalidField("response_format.json_schema.name", "a name is required");
      }
      notes.uses("json-output", "response_format");
      return {
        type: "json",
        name: jsonSchema.name,
        ...(typeof jsonSchema.description === "string" ? { description: jsonSchema.description } : {}),
        ...(isObject(jsonSchema.schema) ? { schema: jsonSchema.schema as JSONSchema7 } : {}),
      };
    }
    default:
      notes.untranslatable("response_format.type", `"${String(format.type)}" has no translation`);
      return undefined;
  }
}

/** `tools` and `tool_choice`, or the legacy `functions` and `function_call`. */
function toolParameters(
  body: OpenAIChatBody,
  notes: RequestNotes,
): Pick<CompletionParameters, "tools" | "toolChoice" | "parallelToolCalls"> {
  // The legacy `functions` and `function_call` are read only when the current fields are absent.
  const absent = (value: unknown) => value === null || value === undefined;
  const legacy =
    absent(body.tools) &&
    absent(body.tool_choice) &&
    (!absent(body.functions) || !absent(body.function_call));
  const field = legacy ? "functions" : "tools";
  const declared = body[field];
  const tools: LanguageModelV4FunctionTool[] = [];
  if (Array.isArray(declared)) {
    (declared as OpenAITool[]).forEach((tool, index) => {
      const param = `${field}.${index}`;
      const definition = legacy ? (tool as OpenAITool["function"]) : tool.function;
      if (!legacy && tool.type !== "function") {
        notes.untranslatable(`${param}.type`, "only function tools have a translation");
        return;
      }
      if (typeof definition?.name !== "string") throw invalidField(param, "a function name is required");
      tools.push({
        type: "function",
        name: definition.name,
        ...(typeof definition.description === "string" ? { description: definition.description } : {}),
        inputSchema: isObject(definition.parameters)
          ? (definition.parameters as JSONSchema7)
          : { type: "object", properties: {} },
        ...(typeof definition.strict === "boolean" ? { strict: definition.strict } : {}),
      });
    });
    if (declared.length > 0) notes.uses("tools", field);
  }
  const toolChoice = readToolChoice(body, legacy ? "function_call" : "tool_choice", notes);
  const parallel = body.parallel_tool_calls;
  if (parallel === false) notes.uses("parallel-tool-calls", "parallel_tool_calls");
  return {
    tools: tools.length === 0 ? undefined : tools,
    toolChoice,
    parallelToolCalls: typeof parallel === "boolean" ? parallel : undefined,
  };
}

function readToolChoice(
  body: OpenAIChatBody,
  field: "tool_choice" | "function_call",
  notes: RequestNotes,
): LanguageModelV4ToolChoice | undefined {
  const choice = body[field] as
    | string
    | { type?: unknown; function?: { name?: unknown }; name?: unknown }
    | null
    | undefined;
  if (choice === null || choice === undefined) return undefined;
  notes.uses("tools", field);
  if (choice === "none" || choice === "auto" || choice === "required") return { type: choice };
  if (typeof choice === "object") {
    // `{type: "function", function: {name}}`, or the legacy `{name}`.
    const name =
      field === "function_call"
        ? choice.name
        : choice.type === "function"
          ? choice.function?.name
          : undefined;
    if (typeof name === "string") return { type: "tool", toolName: name };
  }
  notes.untranslatable(field, "only none, auto, required and a named function have a translation");
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
