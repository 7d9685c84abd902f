import { extractText, getDocumentProxy, getMeta } from "unpdf";
import { SourceError } from "../source-error.ts";
import type { ExtractedDocument, ExtractionLimits } from "./extracted-document.ts";
import { normaliseText } from "./normalise-text.ts";

/**
 * A PDF's text layer, page by page with page numbers. There is no OCR: a PDF whose pages hold no
 * text (a scan) fails with SOURCE_NO_TEXT rather than storing nothing. A password-protected PDF
 * fails with SOURCE_ENCRYPTED; one PDF.js cannot parse, with SOURCE_UNREADABLE.
 */
export async function extractPdf(body: Buffer, limits: ExtractionLimits): Promise<ExtractedDocument> {
  let document: Awaited<ReturnType<typeof getDocumentProxy>>;
  try {
    // A copy: PDF.js takes over (detaches) the buffer it is given.
    document = await getDocumentProxy(new Uint8Array(body), {
      // Text needs no fonts loaded: less of a hostile PDF reaches the parser.
      disableFontFace: true,
      useSystemFonts: false,
      verbosity: 0,
    });
  } catch (error) {
    throw pdfError(error);
  }
  try {
    if (document.numPages > limits.maxPages) {
      throw new SourceError({
        code: "SOURCE_TOO_LARGE",
        message: `The PDF has ${document.numPages} pages, more than the ${limits.maxPages} allowed.`,
      });
    }
    const { text } = await extractText(document, { mergePages: false }).catch((error: unknown) => {
      throw pdfError(error);
    });
    const sections = text
      .map((pageText, index) => ({ page: index + 1, text: normaliseText(pageText) }))
      .filter((section) => section.text !== "");
    if (sections.length === 0) {
      throw new SourceError({
        code: "SOURCE_NO_TEXT",
        message: "The PDF has no text layer (a scanned document?); there is no OCR, so nothing can be read.",
      });
    }
    const title = await getMeta(document)
      .then(({ info }) => (info as { Title?: unknown }).Title)
      .catch(() => undefined);
    return {
      type: "pdf",
      ...(typeof title === "string" && title.trim() !== "" ? { title: title.trim() } : {}),
      sections,
    };
  } finally {
    await document.loadingTask.destroy().catch(() => {});
  }
}

function pdfError(error: unknown): SourceError {
  if (error instanceof SourceError) return error;
  const name = (error as { name?: unknown })?.name;
  if (name === "PasswordException") {
    return new SourceError({
      code: "SOURCE_ENCRYPTED",
      message: "The PDF is protected by a password; it cannot be read.",
      cause: error,
    });
  }
  return new SourceError({
    code: "SOURCE_UNREADABLE",
    message: "The PDF is damaged or not a PDF; it cannot be read.",
    cause: error,
  });
}
