import mammoth from "mammoth";
import { SourceError } from "../source-error.ts";
import type { ExtractedDocument, ExtractionLimits } from "./extracted-document.ts";
import { normaliseText } from "./normalise-text.ts";
import { readZipDirectory } from "./read-zip-directory.ts";
import { verifyZipSizes } from "./verify-zip-sizes.ts";

/**
 * An unpacked part may be at most this many times its packed size. Word's XML packs 5-20 times;
 * zip bombs pack hundreds or thousands of times.
 */
const MAX_PACKING_RATIO = 200;

/**
 * A Word document's text with mammoth, paragraphs kept. What the archive declares is checked
 * first, so a zip bomb fails before anything is unpacked, and then that each part unpacks to no
 * more than it declares, so one that lies fails before mammoth unpacks it whole.
 */
export async function extractDocx(body: Buffer, limits: ExtractionLimits): Promise<ExtractedDocument> {
  const entries = readZipDirectory(body);
  if (!entries.some((entry) => entry.name === "word/document.xml")) {
    throw new SourceError({
      code: "SOURCE_UNREADABLE",
      message: "The archive is not a Word document (it has no word/document.xml).",
    });
  }
  let unpacked = 0;
  for (const entry of entries) {
    unpacked += entry.uncompressedBytes;
    if (
      entry.uncompressedBytes > 1_048_576 &&
      entry.uncompressedBytes > entry.compressedBytes * MAX_PACKING_RATIO
    ) {
      throw new SourceError({
        code: "SOURCE_TOO_LARGE",
        message: `The DOCX part ${entry.name} unpacks to ${entry.uncompressedBytes} bytes from ${entry.compressedBytes}: a zip bomb; refused.`,
      });
    }
  }
  if (unpacked > limits.maxUnpackedBytes) {
    throw new SourceError({
      code: "SOURCE_TOO_LARGE",
      message: `The DOCX unpacks to ${unpacked} bytes, more than the ${limits.maxUnpackedBytes} allowed.`,
    });
  }
  verifyZipSizes(body, entries);
  let value: string;
  try {
    ({ value } = await mammoth.extractRawText({ buffer: body }));
  } catch (error) {
    throw new SourceError({
      code: "SOURCE_UNREADABLE",
      message: "The DOCX is damaged; it cannot be read.",
      cause: error,
    });
  }
  // mammoth ends each paragraph with a blank line already; normalising keeps one.
  const text = normaliseText(value);
  return { type: "docx", sections: text === "" ? [] : [{ text }] };
}
