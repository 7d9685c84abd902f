import { SourceError } from "./source-error.ts";

const entities: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: " ",
};

/**
 * The readable text of a document. Plain text and Markdown are kept as written (Markdown reads
 * well as it is and its paragraphs guide chunking); HTML loses scripts, styles and tags, with
 * block elements turned into paragraph breaks; JSON becomes its string values, one per line.
 */
export function extractText(body: Buffer, contentType: string): string {
  const text = new TextDecoder("utf-8", { fatal: false }).decode(body).replace(/^\uFEFF/, "");
  if (contentType === "text/html" || contentType === "application/xhtml+xml") return htmlToText(text);
  if (contentType === "application/json" || contentType.endsWith("+json")) return jsonToText(text);
  if (contentType.startsWith("text/")) return normalise(text);
  throw new SourceError({
    code: "SOURCE_UNSUPPORTED_TYPE",
    message: `Content of type ${contentType} cannot be ingested.`,
  });
}

function normalise(text: string): string {
  return text
    .replace(/\r\n?/g, "\n")
    .replace(/[ \t]+\n/g, "\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

function htmlToText(html: string): string {
  const withoutHidden = html
    .replace(/<!--[\s\S]*?-->/g, "")
    .replace(/<(script|style|noscript|template|svg|head)\b[\s\S]*?<\/\1\s*>/gi, "");
  const withBreaks = withoutHidden
    .replace(/<br\s*\/?>/gi, "\n")
    .replace(
      /<\/?(p|div|section|article|h[1-6]|li|ul|ol|tr|table|blockquote|pre|header|footer|main)\b[^>]*>/gi,
      "\n\n",
    )
    .replace(/<[^>]+>/g, "");
  const decoded = withBreaks.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (match, entity: string) => {
    if (entity[0] === "#") {
      const code =
        entity[1] === "x" || entity[1] === "X"
          ? Number.parseInt(entity.slice(2), 16)
          : Number.parseInt(entity.slice(1), 10);
      return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : match;
    }
    return entities[entity.toLowerCase()] ?? match;
  });
  return normalise(
    decoded
      .split("\n")
      .map((line) => line.replace(/\s+/g, " ").trim())
      .join("\n"),
  );
}

function jsonToText(json: string): string {
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
  return normalise(lines.join("\n\n"));
}
