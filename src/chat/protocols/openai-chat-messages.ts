import type {
  LanguageModelV4FilePart,
  LanguageModelV4Message,
  LanguageModelV4TextPart,
  LanguageModelV4ToolCallPart,
} from "@ai-sdk/provider";
import type { ChatMessage } from "../../llm/chat-input.ts";
import { filePartOf, type OpenAIContentPart } from "./openai-content-part.ts";
import { invalidField, type RequestNotes } from "./request-notes.ts";

export type OpenAIMessage = Readonly<Record<string, unknown>> & {
  role: string;
  content?: string | readonly OpenAIContentPart[] | null;
};

type OpenAIToolCall = { id?: unknown; type?: unknown; function?: { name?: unknown; arguments?: unknown } };

/** The message fields every translation carries; any other one set is noted by name. */
const CARRIED_FIELDS: Readonly<Record<string, ReadonlySet<string>>> = {
  system: new Set(["role", "content"]),
  developer: new Set(["role", "content"]),
  user: new Set(["role", "content"]),
  assistant: new Set(["role", "content", "tool_calls", "function_call", "refusal"]),
  tool: new Set(["role", "content", "tool_call_id"]),
  function: new Set(["role", "content", "name"]),
};

/**
 * Chat Completions messages as the chat layer's messages: each keeps its text (for limits and
 * observers) and, when it holds more (images, files, tool calls, tool results), the AI SDK's
 * message. Tool results are matched to the calls they answer, by id (by name for the legacy
 * `function` role), because the AI SDK's providers need the tool's name with each result.
 */
export function readOpenAIMessages(messages: readonly OpenAIMessage[], notes: RequestNotes): ChatMessage[] {
  /** Tool names by call id, from the assistant messages read so far. */
  const toolNames = new Map<string, string>();
  /** The legacy `function_call` ids by function name, most recent last. */
  const functionCallIds = new Map<string, string>();

  return messages.map((message, index): ChatMessage => {
    const param = `messages.${index}`;
    const carried = CARRIED_FIELDS[message.role];
    if (carried === undefined) {
      notes.untranslatable(`${param}.role`, `it takes no "${message.role}" messages`);
      return { role: "user", content: "" };
    }
    for (const [field, value] of Object.entries(message)) {
      if (value !== null && value !== undefined && !carried.has(field)) {
        notes.untranslatable(`${param}.${field}`, "the field has no translation for it");
      }
    }
    switch (message.role) {
      case "system":
      case "developer":
        // What newer OpenAI models call the system prompt.
        return { role: "system", content: textOnly(message.content, param, notes) };
      case "user":
        return userMessage(message, param, notes);
      case "assistant":
        return assistantMessage(message, index, toolNames, functionCallIds, notes);
      case "tool": {
        const id = message.tool_call_id;
        const toolName = typeof id === "string" ? toolNames.get(id) : undefined;
        if (typeof id !== "string" || toolName === undefined) {
          throw invalidField(
            `${param}.tool_call_id`,
            "it answers no tool call of an earlier assistant message",
          );
        }
        notes.uses("tools", param);
        return toolResult(id, toolName, textOnly(message.content, param, notes));
      }
      default: {
        // The legacy `function` role answers the latest `function_call` of that name.
        const name = message.name;
        const id = typeof name === "string" ? functionCallIds.get(name) : undefined;
        if (typeof name !== "string" || id === undefined) {
          throw invalidField(`${param}.name`, "it answers no function_call of an earlier assistant message");
        }
        notes.uses("tools", param);
        return toolResult(id, name, textOnly(message.content, param, notes));
      }
    }
  });
}

function userMessage(message: OpenAIMessage, param: string, notes: RequestNotes): ChatMessage {
  const { content } = message;
  if (typeof content === "string" || content === null || content === undefined) {
    return { role: "user", content: content ?? "" };
  }
  let text = "";
  let onlyText = true;
  const parts: (LanguageModelV4TextPart | LanguageModelV4FilePart)[] = [];
  content.forEach((part, partIndex) => {
    if (part.type === "text" && typeof part.text === "string") {
      text += part.text;
      parts.push({ type: "text", text: part.text });
      return;
    }
    onlyText = false;
    const file = filePartOf(part, `${param}.content.${partIndex}`, notes);
    if (file !== undefined) parts.push(file);
  });
  return onlyText
    ? { role: "user", content: text }
    : { role: "user", content: text, modelMessage: { role: "user", content: parts } };
}

function assistantMessage(
  message: OpenAIMessage,
  index: number,
  toolNames: Map<string, string>,
  functionCallIds: Map<string, string>,
  notes: RequestNotes,
): ChatMessage {
  const param = `messages.${index}`;
  let text = textOnly(message.content, param, notes, ["text", "refusal"]);
  // A refusal the model gave earlier is what it said: other providers get it as its text.
  if (typeof message.refusal === "string") text += message.refusal;
  const calls: LanguageModelV4ToolCallPart[] = [];
  const toolCalls = Array.isArray(message.tool_calls) ? (message.tool_calls as OpenAIToolCall[]) : [];
  toolCalls.forEach((call, callIndex) => {
    const callParam = `${param}.tool_calls.${callIndex}`;
    if (call.type !== "function")
      notes.untranslatable(`${callParam}.type`, "only function tool calls have a translation");
    const id = call.id;
    const name = call.function?.name;
    if (typeof id !== "string" || typeof name !== "string") {
      throw invalidField(callParam, "`id` and `function.name` are required");
    }
    toolNames.set(id, name);
    calls.push(toolCallPart(id, name, call.function?.arguments, `${callParam}.function.arguments`));
  });
  const legacy = message.function_call as { name?: unknown; arguments?: unknown } | null | undefined;
  if (legacy !== null && legacy !== undefined) {
    if (typeof legacy.name !== "string")
      throw invalidField(`${param}.function_call.name`, "a name is required");
    // The legacy call has no id; one made from its place lets its answer be matched to it.
    const id = `function-call-${index}`;
    functionCallIds.set(legacy.name, id);
    calls.push(toolCallPart(id, legacy.name, legacy.arguments, `${param}.function_call.arguments`));
  }
  if (calls.length === 0 && typeof message.refusal !== "string") return { role: "assistant", content: text };
  if (calls.length > 0) notes.uses("tools", `${param}.tool_calls`);
  const content = text + calls.map((call) => `${call.toolName}(${JSON.stringify(call.input)})`).join("");
  const modelMessage: LanguageModelV4Message = {
    role: "assistant",
    content: [...(text.length > 0 ? [{ type: "text" as const, text }] : []), ...calls],
  };
  return { role: "assistant", content, modelMessage };
}

function toolCallPart(id: string, name: string, args: unknown, param: string): LanguageModelV4ToolCallPart {
  let input: unknown = {};
  if (typeof args === "string" && args.trim().length > 0) {
    try {
      input = JSON.parse(args);
    } catch {
      throw invalidField(param, "the arguments are not JSON");
    }
  }
  return { type: "tool-call", toolCallId: id, toolName: name, input };
}

function toolResult(toolCallId: string, toolName: string, text: string): ChatMessage {
  return {
    role: "tool",
    content: text,
    modelMessage: {
      role: "tool",
      content: [{ type: "tool-result", toolCallId, toolName, output: { type: "text", value: text } }],
    },
  };
}

/** The text of content that may hold only text parts (`allowed` types); others are noted. */
function textOnly(
  content: OpenAIMessage["content"],
  param: string,
  notes: RequestNotes,
  allowed: readonly string[] = ["text"],
): string {
  if (content === null || content === undefined) return "";
  if (typeof content === "string") return content;
  let text = "";
  content.forEach((part, partIndex) => {
    const value = part.type === "refusal" ? part.refusal : part.text;
    if (allowed.includes(part.type) && typeof value === "string") text += value;
    else notes.untranslatable(`${param}.content.${partIndex}`, `it takes no "${part.type}" parts here`);
  });
  return text;
}
