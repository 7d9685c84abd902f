import type { JSONSchema7, LanguageModelV4FunctionTool, LanguageModelV4ToolChoice } from "@ai-sdk/provider";
import type { ChatInput, ChatMessage } from "../../llm/chat-input.ts";
import type { CompletionParameters, ReasoningEffort, ResponseFormat } from "../../llm/completion-request.ts";
import type { FeatureUse } from "../../llm/language-model-capabilities.ts";
import type { UntranslatedField } from "../chat-source.ts";
import {
  type AnthropicBlock,
  type AnthropicMessage,
  readAnthropicMessages,
} from "./anthropic-message-content.ts";
import { invalidField, RequestNotes } from "./request-notes.ts";

/** A Messages body as the route's schema checked it; every other field is kept as sent. */
export type AnthropicMessagesBody = Readonly<Record<string, unknown>> & {
  model?: string;
  messages: readonly AnthropicMessage[];
  system?: string | readonly AnthropicBlock[];
  stream?: boolean;
};

/**
 * The fields the language-model source carries to any model (the AI SDK's call options); the
 * native relay to the `anthropic` provider takes the body whole instead. Any other field set is
 * refused for the language-model source, never dropped, unless it holds the value that asks for
 * nothing (`NO_OP_VALUES`).
 */
const TRANSLATED_FIELDS: ReadonlySet<string> = new Set([
  "model",
  "messages",
  "system",
  "stream",
  "max_tokens",
  "stop_sequences",
  "temperature",
  "top_p",
  "top_k",
  "metadata",
  "tools",
  "tool_choice",
  "thinking",
  "output_config",
  // A caching hint for the whole request, carried as anthropic-message-content.ts explains.
  "cache_control",
]);

/** Values that ask for what happens anyway, so leaving them out changes nothing. */
const NO_OP_VALUES: Readonly<Record<string, (value: unknown) => boolean>> = {
  service_tier: (value) => value === "auto",
};

const TOOL_FIELDS: ReadonlySet<string> = new Set([
  "type",
  "name",
  "description",
  "input_schema",
  "cache_control",
]);

/**
 * Reasoning levels by the share of `max_tokens` the AI SDK gives each as a thinking budget when it
 * maps a level to Anthropic's `budget_tokens`; a budget maps back to the nearest level.
 */
const REASONING_SHARES: readonly [ReasoningEffort, number][] = [
  ["minimal", 0.02],
  ["low", 0.1],
  ["medium", 0.3],
  ["high", 0.6],
  ["xhigh", 0.9],
];

export type AnthropicMessagesRequest = {
  /** The conversation for limits, the observer and the language-model source. */
  input: ChatInput;
  /** The first field `input` leaves out; the language-model source refuses the request for it. */
  untranslated: UntranslatedField | undefined;
  /** What the request asks of the model beyond text, by field, for the provider's capabilities. */
  features: readonly FeatureUse[];
};

/** Reads a Messages body into the chat layer's input, noting what the input cannot carry. */
export function readAnthropicMessagesRequest(body: AnthropicMessagesBody): AnthropicMessagesRequest {
  const notes = new RequestNotes();
  for (const [field, value] of Object.entries(body)) {
    if (value === null || value === undefined || TRANSLATED_FIELDS.has(field)) continue;
    if (NO_OP_VALUES[field]?.(value) !== true)
      notes.untranslatable(field, "the field has no translation for it");
  }
  // Tools first: a request that offers tools to a model without them is refused for `tools`.
  const tools = toolParameters(body, notes);
  const messages: ChatMessage[] = [
    ...systemMessages(body, notes),
    ...readAnthropicMessages(body.messages, notes),
  ];
  const maxTokens = numberField(body, "max_tokens");
  const topK = numberField(body, "top_k");
  if (topK !== undefined) notes.uses("top-k", "top_k");
  const parameters: CompletionParameters = {
    temperature: numberField(body, "temperature"),
    topP: numberField(body, "top_p"),
    topK,
    maxTokens,
    stop: Array.isArray(body.stop_sequences) ? (body.stop_sequences as string[]) : undefined,
    reasoning: reasoning(body, maxTokens, notes) ?? outputEffort(body, notes),
    responseFormat: outputFormat(body, notes),
    endUser: endUser(body, notes),
    ...tools,
  };
  return {
    input: { model: body.model, messages, parameters },
    untranslated: notes.untranslated,
    features: notes.features,
  };
}

/** `system` as a string or as text blocks: one system message. */
function systemMessages(body: AnthropicMessagesBody, notes: RequestNotes): ChatMessage[] {
  const { system } = body;
  if (system === undefined || system === null) return [];
  if (typeof system === "string") return system.length === 0 ? [] : [{ role: "system", content: system }];
  let text = "";
  system.forEach((block, index) => {
    const param = `system.${index}`;
    if (block.type !== "text" || typeof block.text !== "string") {
      notes.untranslatable(`${param}.type`, "the system prompt takes only text blocks");
      return;
    }
    for (const field of Object.keys(block)) {
      // `cache_control` is a caching hint, carried as anthropic-message-content.ts explains.
      if (field !== "type" && field !== "text" && field !== "cache_control")
        notes.untranslatable(`${param}.${field}`, "the field has no translation for it");
    }
    text += text.length === 0 ? block.text : `\n\n${block.text}`;
  });
  return [{ role: "system", content: text }];
}

function numberField(body: AnthropicMessagesBody, field: string): number | undefined {
  const value = body[field];
  return typeof value === "number" ? value : undefined;
}

/**
 * `thinking`: `enabled` with a budget becomes the nearest AI SDK reasoning level (by its share of
 * `max_tokens`, as the SDK maps levels to budgets the other way); `disabled` is what happens
 * without it. Other kinds have no translation.
 */
function reasoning(
  body: AnthropicMessagesBody,
  maxTokens: number | undefined,
  notes: RequestNotes,
): ReasoningEffort | undefined {
  const thinking = body.thinking as { type?: unknown; budget_tokens?: unknown } | null | undefined;
  if (thinking === null || thinking === undefined || thinking.type === "disabled") return undefined;
  if (thinking.type !== "enabled") {
    notes.untranslatable(
      "thinking.type",
      `"${String(thinking.type)}" has no translation (enabled and disabled do)`,
    );
    return undefined;
  }
  const budget = thinking.budget_tokens;
  if (typeof budget !== "number" || budget < 1)
    throw invalidField("thinking.budget_tokens", "a positive number is required");
  notes.uses("reasoning", "thinking");
  const share = maxTokens === undefined ? 0.3 : budget / maxTokens;
  let nearest = REASONING_SHARES[0];
  for (const level of REASONING_SHARES) {
    if (Math.abs(level[1] - share) < Math.abs(nearest[1] - share)) nearest = level;
  }
  return nearest[0];
}

type OutputConfig = { effort?: unknown; format?: { type?: unknown; schema?: unknown } | null };

const EFFORTS: ReadonlySet<string> = new Set(["low", "medium", "high", "xhigh", "max"]);

/** `output_config.effort`: the AI SDK's reasoning level of the same name. */
function outputEffort(body: AnthropicMessagesBody, notes: RequestNotes): ReasoningEffort | undefined {
  const config = body.output_config as OutputConfig | null | undefined;
  if (config === null || config === undefined) return undefined;
  for (const [field, value] of Object.entries(config)) {
    if (field !== "effort" && field !== "format" && value !== null && value !== undefined)
      notes.untranslatable(`output_config.${field}`, "the field has no translation for it");
  }
  const effort = config.effort;
  if (effort === null || effort === undefined) return undefined;
  if (typeof effort !== "string" || !EFFORTS.has(effort))
    throw invalidField("output_config.effort", `it is one of ${[...EFFORTS].join(", ")}`);
  notes.uses("reasoning", "output_config.effort");
  return effort as ReasoningEffort;
}

/** `output_config.format` `json_schema`: the AI SDK's structured output. */
function outputFormat(body: AnthropicMessagesBody, notes: RequestNotes): ResponseFormat | undefined {
  const format = (body.output_config as OutputConfig | null | undefined)?.format;
  if (format === null || format === undefined) return undefined;
  if (format.type !== "json_schema") {
    notes.untranslatable("output_config.format.type", `"${String(format.type)}" has no translation`);
    return undefined;
  }
  for (const [field, value] of Object.entries(format)) {
    if (field !== "type" && field !== "schema" && value !== null && value !== undefined)
      notes.untranslatable(`output_config.format.${field}`, "the field has no translation for it");
  }
  const { schema } = format;
  if (typeof schema !== "object" || schema === null)
    throw invalidField("output_config.format.schema", "a JSON Schema is required");
  notes.uses("json-output", "output_config.format");
  return { type: "json", schema: schema as JSONSchema7 };
}

/** `metadata.user_id`: the end user, for the provider's abuse checks (OpenAI's `user`). */
function endUser(body: AnthropicMessagesBody, notes: RequestNotes): string | undefined {
  const metadata = body.metadata as Record<string, unknown> | null | undefined;
  if (metadata === null || metadata === undefined) return undefined;
  for (const [field, value] of Object.entries(metadata)) {
    if (field !== "user_id" && value !== null && value !== undefined)
      notes.untranslatable(`metadata.${field}`, "the field has no translation for it");
  }
  return typeof metadata.user_id === "string" ? metadata.user_id : undefined;
}

/** `tools` (client tools; server tools have no translation) and `tool_choice`. */
function toolParameters(
  body: AnthropicMessagesBody,
  notes: RequestNotes,
): Pick<CompletionParameters, "tools" | "toolChoice" | "parallelToolCalls"> {
  const tools: LanguageModelV4FunctionTool[] = [];
  const declared = body.tools;
  if (Array.isArray(declared)) {
    (declared as Record<string, unknown>[]).forEach((tool, index) => {
      const param = `tools.${index}`;
      if (tool.type !== undefined && tool.type !== null && tool.type !== "custom") {
        notes.untranslatable(`${param}.type`, `"${String(tool.type)}" is a tool Anthropic runs itself`);
        return;
      }
      for (const [field, value] of Object.entries(tool)) {
        if (value !== null && value !== undefined && !TOOL_FIELDS.has(field))
          notes.untranslatable(`${param}.${field}`, "the field has no translation for it");
      }
      if (typeof tool.name !== "string") throw invalidField(`${param}.name`, "a name is required");
      const schema = tool.input_schema;
      tools.push({
        type: "function",
        name: tool.name,
        ...(typeof tool.description === "string" ? { description: tool.description } : {}),
        inputSchema:
          typeof schema === "object" && schema !== null
            ? (schema as JSONSchema7)
            : { type: "object", properties: {} },
      });
    });
    if (declared.length > 0) notes.uses("tools", "tools");
  }
  const choice = body.tool_choice as
    | { type?: unknown; name?: unknown; disable_parallel_tool_use?: unknown }
    | null
    | undefined;
  let toolChoice: LanguageModelV4ToolChoice | undefined;
  let parallelToolCalls: boolean | undefined;
  if (choice !== null && choice !== undefined) {
    notes.uses("tools", "tool_choice");
    switch (choice.type) {
      case "auto":
      case "none":
        toolChoice = { type: choice.type };
        break;
      case "any":
        toolChoice = { type: "required" };
        break;
      case "tool":
        if (typeof choice.name !== "string")
          throw invalidField("tool_choice.name", "a tool name is required");
        toolChoice = { type: "tool", toolName: choice.name };
        break;
      default:
        notes.untranslatable("tool_choice.type", "only auto, any, tool and none have a translation");
    }
    if (choice.disable_parallel_tool_use === true) {
      notes.uses("parallel-tool-calls", "tool_choice.disable_parallel_tool_use");
      parallelToolCalls = false;
    }
  }
  return { tools: tools.length === 0 ? undefined : tools, toolChoice, parallelToolCalls };
}
