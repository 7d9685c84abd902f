import path from "node:path";
import { SourceError } from "../source-error.ts";
import type { DocumentType } from "./extracted-document.ts";

/** What the source said about its content: a file name or URL, and a Content-Type header. */
export type TypeHints = { name?: string; contentType?: string };

const BY_EXTENSION: Record<string, DocumentType> = {
  ".pdf": "pdf",
  ".docx": "docx",
  ".html": "html",
  ".htm": "html",
  ".xhtml": "html",
  ".md": "markdown",
  ".markdown": "markdown",
  ".txt": "text",
  ".text": "text",
  ".log": "text",
  ".json": "json",
  ".csv": "csv",
  ".tsv": "csv",
};

const BY_MEDIA_TYPE: Record<string, DocumentType> = {
  "application/pdf": "pdf",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
  "text/html": "html",
  "application/xhtml+xml": "html",
  "text/markdown": "markdown",
  "text/x-markdown": "markdown",
  "text/plain": "text",
  "application/json": "json",
  "text/csv": "csv",
  "text/tab-separated-values": "csv",
};

/**
 * The document's kind, from its content first: a PDF and a ZIP (DOCX) announce themselves in
 * their first bytes, whatever the name says, and a binary file is refused whatever its header.
 * A hint that promises a PDF or DOCX the bytes do not hold means a damaged file
 * (SOURCE_UNREADABLE). Among texts, which all look alike, the hints choose (HTML and JSON are
 * also recognised by their first characters), and plain text is the rest.
 */
export function detectDocumentType(body: Buffer, hints: TypeHints): DocumentType {
  const hinted = hintedType(hints);
  const head = body.subarray(0, 1024);
  if (head.includes("%PDF-")) return "pdf";
  if (body.length >= 4 && body.readUInt32LE(0) === 0x04034b50) {
    if (hinted === undefined || hinted === "docx") return "docx";
    throw unsupported("a ZIP archive");
  }
  if (hinted === "pdf" || hinted === "docx") {
    throw new SourceError({
      code: "SOURCE_UNREADABLE",
      message: `The source is declared a ${hinted === "pdf" ? "PDF" : "DOCX"} file but its content is not one: it is damaged.`,
    });
  }
  if (looksBinary(body)) throw unsupported(hints.contentType ? `binary (${hints.contentType})` : "binary");
  if (hinted === "text" || hinted === undefined) {
    const start = body
      .subarray(0, 512)
      .toString("utf8")
      .replace(/^\uFEFF/, "")
      .trimStart()
      .toLowerCase();
    if (start.startsWith("<!doctype html") || start.startsWith("<html")) return "html";
    if (hinted === undefined && (start.startsWith("{") || start.startsWith("["))) return "json";
  }
  return hinted ?? "text";
}

function hintedType(hints: TypeHints): DocumentType | undefined {
  const declared = hints.contentType?.split(";")[0].trim().toLowerCase();
  if (declared && BY_MEDIA_TYPE[declared]) return BY_MEDIA_TYPE[declared];
  if (declared?.endsWith("+json")) return "json";
  if (hints.name === undefined) return undefined;
  let extension: string;
  try {
    extension = path.extname(new URL(hints.name).pathname).toLowerCase();
  } catch {
    extension = path.extname(hints.name).toLowerCase();
  }
  return BY_EXTENSION[extension];
}

/**
 * A NUL byte anywhere, or many control characters in the first 8 KiB: text files have neither.
 * The whole body is searched for NUL (one native scan): a text with one past its first 8 KiB would
 * otherwise be stored cut short at it by SQLite, and not at all by PostgreSQL.
 */
function looksBinary(body: Buffer): boolean {
  if (body.includes(0)) return true;
  const sample = body.subarray(0, 8192);
  let control = 0;
  for (const byte of sample) {
    if (byte < 9 || (byte > 13 && byte < 32)) control += 1;
  }
  return control > sample.length / 10;
}

function unsupported(what: string): SourceError {
  return new SourceError({
    code: "SOURCE_UNSUPPORTED_TYPE",
    message: `The content is ${what}; only PDF, DOCX, HTML, Markdown, text, JSON and CSV can be ingested.`,
  });
}
