import type {
  LanguageModelV4FilePart,
  LanguageModelV4Message,
  LanguageModelV4ReasoningPart,
  LanguageModelV4TextPart,
  LanguageModelV4ToolCallPart,
  LanguageModelV4ToolResultOutput,
} from "@ai-sdk/provider";
import type { ChatMessage } from "../../llm/chat-input.ts";
import { invalidField, type RequestNotes } from "./request-notes.ts";

/** A content block of a Messages request (`text`, `image`, `tool_use`...), every field kept as sent. */
export type AnthropicBlock = Readonly<Record<string, unknown>> & { type: string };

export type AnthropicMessage = Readonly<Record<string, unknown>> & {
  role: string;
  content: string | readonly AnthropicBlock[];
};

/**
 * The block fields each translation carries; any other one set is noted by name. `cache_control`
 * is a caching hint that never changes what the model answers: providers without explicit prompt
 * caching (OpenAI-compatible servers cache prefixes on their own) have nothing to do with it, so
 * it is read as carried rather than refused, which would lock out every Claude Code request.
 */
const CARRIED_FIELDS: Readonly<Record<string, ReadonlySet<string>>> = {
  text: new Set(["type", "text", "cache_control"]),
  image: new Set(["type", "source", "cache_control"]),
  document: new Set(["type", "source", "title", "cache_control"]),
  tool_use: new Set(["type", "id", "name", "input", "cache_control"]),
  tool_result: new Set(["type", "tool_use_id", "content", "is_error", "cache_control"]),
  thinking: new Set(["type", "thinking", "signature"]),
};

/** Which blocks each role may hold. */
const ROLE_BLOCKS: Readonly<Record<string, ReadonlySet<string>>> = {
  user: new Set(["text", "image", "document", "tool_result"]),
  assistant: new Set(["text", "tool_use", "thinking"]),
};

type UserPart = LanguageModelV4TextPart | LanguageModelV4FilePart;
type AssistantPart = LanguageModelV4TextPart | LanguageModelV4ToolCallPart | LanguageModelV4ReasoningPart;

/**
 * Messages-API messages as the chat layer's messages: each keeps its text (for limits and
 * observers) and, when it holds more, the AI SDK's message. A user message's `tool_result` blocks
 * become a `tool` message of their own (the AI SDK's shape), in their place among the other
 * blocks; each is matched by `tool_use_id` to the `tool_use` it answers, for the tool's name.
 */
export function readAnthropicMessages(
  messages: readonly AnthropicMessage[],
  notes: RequestNotes,
): ChatMessage[] {
  /** Tool names by `tool_use` id, from the assistant messages read so far. */
  const toolNames = new Map<string, string>();
  return messages.flatMap((message, index): ChatMessage[] => {
    const param = `messages.${index}`;
    for (const field of Object.keys(message)) {
      if (field !== "role" && field !== "content")
        notes.untranslatable(`${param}.${field}`, "the field has no translation for it");
    }
    const allowed = ROLE_BLOCKS[message.role];
    if (allowed === undefined) throw invalidField(`${param}.role`, "it is `user` or `assistant`");
    if (typeof message.content === "string") {
      return [{ role: message.role as "user" | "assistant", content: message.content }];
    }
    message.content.forEach((block, blockIndex) => {
      checkBlockFields(block, `${param}.content.${blockIndex}`, allowed, notes);
    });
    return message.role === "user"
      ? userMessages(message.content, param, toolNames, notes)
      : [assistantMessage(message.content, param, toolNames, notes)];
  });
}

function checkBlockFields(
  block: AnthropicBlock,
  param: string,
  allowed: ReadonlySet<string>,
  notes: RequestNotes,
): void {
  const carried = CARRIED_FIELDS[block.type];
  if (carried === undefined || !allowed.has(block.type)) {
    notes.untranslatable(`${param}.type`, `it takes no "${block.type}" blocks here`);
    return;
  }
  for (const [field, value] of Object.entries(block)) {
    if (value !== null && value !== undefined && !carried.has(field))
      notes.untranslatable(`${param}.${field}`, "the field has no translation for it");
  }
}

/** A user turn: its text, images and documents, split around the tool results it holds. */
function userMessages(
  blocks: readonly AnthropicBlock[],
  param: string,
  toolNames: ReadonlyMap<string, string>,
  notes: RequestNotes,
): ChatMessage[] {
  const messages: ChatMessage[] = [];
  let parts: UserPart[] = [];
  let results: ChatMessage[] = [];
  const flushParts = () => {
    if (parts.length === 0) return;
    const text = parts.map((part) => (part.type === "text" ? part.text : "")).join("");
    const onlyText = parts.every((part) => part.type === "text");
    messages.push(
      onlyText
        ? { role: "user", content: text }
        : { role: "user", content: text, modelMessage: { role: "user", content: parts } },
    );
    parts = [];
  };
  const flushResults = () => {
    if (results.length === 0) return;
    // Consecutive results are one tool message, as the AI SDK expects parallel calls answered.
    const content = results.flatMap((result) =>
      result.modelMessage?.role === "tool" ? result.modelMessage.content : [],
    );
    messages.push({
      role: "tool",
      content: results.map((result) => result.content).join("\n"),
      modelMessage: { role: "tool", content },
    });
    results = [];
  };
  blocks.forEach((block, blockIndex) => {
    const blockParam = `${param}.content.${blockIndex}`;
    switch (block.type) {
      case "text":
        flushResults();
        parts.push({ type: "text", text: stringField(block, "text", blockParam) });
        return;
      case "image":
      case "document": {
        flushResults();
        const file = filePart(block, blockParam, notes);
        if (file !== undefined) parts.push(file);
        return;
      }
      case "tool_result":
        flushParts();
        results.push(toolResult(block, blockParam, toolNames, notes));
        return;
      default:
      // Noted by checkBlockFields.
    }
  });
  flushParts();
  flushResults();
  return messages;
}

function assistantMessage(
  blocks: readonly AnthropicBlock[],
  param: string,
  toolNames: Map<string, string>,
  notes: RequestNotes,
): ChatMessage {
  const parts: AssistantPart[] = [];
  let text = "";
  blocks.forEach((block, blockIndex) => {
    const blockParam = `${param}.content.${blockIndex}`;
    switch (block.type) {
      case "text": {
        const value = stringField(block, "text", blockParam);
        text += value;
        parts.push({ type: "text", text: value });
        return;
      }
      case "tool_use": {
        const id = stringField(block, "id", blockParam);
        const name = stringField(block, "name", blockParam);
        toolNames.set(id, name);
        notes.uses("tools", blockParam);
        text += `${name}(${JSON.stringify(block.input ?? {})})`;
        parts.push({ type: "tool-call", toolCallId: id, toolName: name, input: block.input ?? {} });
        return;
      }
      case "thinking":
        // What the model thought earlier; its signature only means something to Anthropic itself.
        parts.push({ type: "reasoning", text: stringField(block, "thinking", blockParam) });
        return;
      default:
      // Noted by checkBlockFields.
    }
  });
  if (parts.every((part) => part.type === "text")) return { role: "assistant", content: text };
  return { role: "assistant", content: text, modelMessage: { role: "assistant", content: parts } };
}

function toolResult(
  block: AnthropicBlock,
  param: string,
  toolNames: ReadonlyMap<string, string>,
  notes: RequestNotes,
): ChatMessage {
  const id = block.tool_use_id;
  const toolName = typeof id === "string" ? toolNames.get(id) : undefined;
  if (typeof id !== "string" || toolName === undefined) {
    throw invalidField(
      `${param}.tool_use_id`,
      "it answers no tool_use block of an earlier assistant message",
    );
  }
  notes.uses("tools", param);
  const isError = block.is_error === true;
  const { text, output } = toolResultOutput(block.content, isError, `${param}.content`, notes);
  const modelMessage: LanguageModelV4Message = {
    role: "tool",
    content: [{ type: "tool-result", toolCallId: id, toolName, output }],
  };
  return { role: "tool", content: text, modelMessage };
}

/** A tool result's content: a string, or text and image blocks. */
function toolResultOutput(
  content: unknown,
  isError: boolean,
  param: string,
  notes: RequestNotes,
): { text: string; output: LanguageModelV4ToolResultOutput } {
  if (content === undefined || content === null || typeof content === "string") {
    const text = content ?? "";
    return { text, output: { type: isError ? "error-text" : "text", value: text } };
  }
  if (!Array.isArray(content)) throw invalidField(param, "a string or an array of blocks is required");
  const value: Extract<LanguageModelV4ToolResultOutput, { type: "content" }>["value"] = [];
  let text = "";
  (content as AnthropicBlock[]).forEach((block, blockIndex) => {
    const blockParam = `${param}.${blockIndex}`;
    checkBlockFields(block, blockParam, new Set(["text", "image"]), notes);
    if (block.type === "text") {
      const blockText = stringField(block, "text", blockParam);
      text += blockText;
      value.push({ type: "text", text: blockText });
    } else if (block.type === "image") {
      const file = filePart(block, blockParam, notes);
      if (file !== undefined) value.push({ type: "file", data: file.data, mediaType: file.mediaType });
    }
  });
  if (value.every((part) => part.type === "text")) {
    return { text, output: { type: isError ? "error-text" : "text", value: text } };
  }
  if (isError) notes.untranslatable(param, "an error result can hold only text");
  return { text, output: { type: "content", value } };
}

/** An `image` or `document` block as the AI SDK's file part; undefined (and noted) when it has none. */
function filePart(
  block: AnthropicBlock,
  param: string,
  notes: RequestNotes,
): LanguageModelV4FilePart | undefined {
  const image = block.type === "image";
  const source = block.source as Record<string, unknown> | undefined;
  if (typeof source !== "object" || source === null)
    throw invalidField(`${param}.source`, "a source is required");
  notes.uses(image ? "images" : "documents", param);
  const filename = typeof block.title === "string" ? { filename: block.title } : {};
  switch (source.type) {
    case "base64": {
      const mediaType = source.media_type;
      const data = source.data;
      if (typeof mediaType !== "string" || typeof data !== "string") {
        throw invalidField(`${param}.source`, "`media_type` and `data` (base64) are required");
      }
      return { type: "file", mediaType, data: { type: "data", data }, ...filename };
    }
    case "url": {
      const url = source.url;
      if (typeof url !== "string") throw invalidField(`${param}.source.url`, "a URL is required");
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw invalidField(`${param}.source.url`, "it is not a URL");
      }
      if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
        throw invalidField(`${param}.source.url`, "only http(s) URLs are taken");
      }
      return {
        type: "file",
        mediaType: image ? "image" : "application/pdf",
        data: { type: "url", url: parsed },
        ...filename,
      };
    }
    case "text":
      if (!image && typeof source.data === "string") {
        return {
          type: "file",
          mediaType: typeof source.media_type === "string" ? source.media_type : "text/plain",
          data: { type: "text", text: source.data },
          ...filename,
        };
      }
      break;
    default:
  }
  notes.untranslatable(
    `${param}.source.type`,
    `"${String(source.type)}" sources have no translation (base64 and url do${image ? "" : ", and text"})`,
  );
  return undefined;
}

function stringField(block: AnthropicBlock, field: string, param: string): string {
  const value = block[field];
  if (typeof value !== "string") throw invalidField(`${param}.${field}`, "a string is required");
  return value;
}
