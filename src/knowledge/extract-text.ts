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
