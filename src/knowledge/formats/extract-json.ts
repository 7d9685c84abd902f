import { SourceError } from "../source-error.ts";
import type { ExtractedDocument } from "./extracted-document.ts";
import { normaliseText } from "./normalise-text.ts";

/** A JSON document as its string, number and boolean values, one per paragraph, each after its key. */
export function extractJson(json: string): ExtractedDocument {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new SourceError({ code: "SOURCE_UNREADABLE", message: "The JSON source is not valid JSON." });
  }
  const lines: string[] = [];
  const visit = (node: unknown, key: string): void => {
    if (typeof node === "string") lines.push(key ? `${key}: ${node}` : node);
    else if (typeof node === "number" || typeof node === "boolean") lines.push(`${key}: ${node}`);
    else if (Array.isArray(node)) for (const item of node) visit(item, key);
    else if (node && typeof node === "object") {
      for (const [childKey, child] of Object.entries(node)) visit(child, childKey);
    }
  };
  visit(value, "");
  const text = normaliseText(lines.join("\n\n"));
  return { type: "json", sections: text === "" ? [] : [{ text }] };
}
