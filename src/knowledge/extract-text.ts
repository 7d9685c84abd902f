import { detectDocumentType, type TypeHints } from "./formats/detect-document-type.ts";
import { extractCsv } from "./formats/extract-csv.ts";
import { extractDocx } from "./formats/extract-docx.ts";
import { extractHtml } from "./formats/extract-html.ts";
import { extractJson } from "./formats/extract-json.ts";
import { extractPdf } from "./formats/extract-pdf.ts";
import type { ExtractedDocument, ExtractionLimits } from "./formats/extracted-document.ts";
import { normaliseText } from "./formats/normalise-text.ts";

/**
 * The readable text of a document, by its kind (detected from its bytes, with the name and
 * Content-Type as hints): a PDF page by page, a DOCX through mammoth, an HTML page's main
 * content, a CSV's rows with their headers, JSON's values; Markdown and plain text as written
 * (Markdown reads well as it is, and its paragraphs guide chunking). Failures are SourceErrors.
 */
export async function extractText(
  body: Buffer,
  hints: TypeHints,
  limits: ExtractionLimits,
): Promise<ExtractedDocument> {
  return withoutNul(await extractByType(body, hints, limits));
}

/**
 * The text with its NUL characters taken out. A text file holding one is refused as binary, but a
 * PDF's text layer can map a glyph to U+0000 and a JSON string can hold `\u0000`; a stored NUL is
 * where SQLite cuts a text short and what PostgreSQL cannot store at all.
 */
function withoutNul(document: ExtractedDocument): ExtractedDocument {
  const clean = (text: string) => (text.includes("\u0000") ? text.replaceAll("\u0000", "") : text);
  return {
    ...document,
    ...(document.title === undefined ? {} : { title: clean(document.title) }),
    sections: document.sections.map((section) => ({ ...section, text: clean(section.text) })),
  };
}

async function extractByType(
  body: Buffer,
  hints: TypeHints,
  limits: ExtractionLimits,
): Promise<ExtractedDocument> {
  const type = detectDocumentType(body, hints);
  if (type === "pdf") return extractPdf(body, limits);
  if (type === "docx") return extractDocx(body, limits);
  const text = new TextDecoder("utf-8", { fatal: false }).decode(body).replace(/^\uFEFF/, "");
  if (type === "html") return extractHtml(text);
  if (type === "json") return extractJson(text);
  if (type === "csv") return extractCsv(text);
  const normalised = normaliseText(text);
  return { type, sections: normalised === "" ? [] : [{ text: normalised }] };
}
