/** The kinds of document the ingest reads, each by its own extractor. */
export const DOCUMENT_TYPES = ["pdf", "docx", "html", "markdown", "text", "json", "csv"] as const;

export type DocumentType = (typeof DOCUMENT_TYPES)[number];

/** The media type a document of each kind is stored under, whatever its source declared. */
export const MEDIA_TYPES: Record<DocumentType, string> = {
  pdf: "application/pdf",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  html: "text/html",
  markdown: "text/markdown",
  text: "text/plain",
  json: "application/json",
  csv: "text/csv",
};

/** A run of a document's text; a PDF has one per page, numbered from 1, so citations can name it. */
export type DocumentSection = { text: string; page?: number };

/** A document's readable text, as its extractor found it. */
export type ExtractedDocument = {
  type: DocumentType;
  /** The HTML page's or the PDF's own title, when it has one. */
  title?: string;
  sections: DocumentSection[];
};

/** Limits one extraction keeps, beside the byte limit the source was read with and the time limit of its thread. */
export type ExtractionLimits = {
  /** Pages of a PDF read at most (`INGEST_MAX_PAGES`); a longer one fails. */
  maxPages: number;
  /** Bytes the files inside a DOCX may unpack to (`INGEST_MAX_UNPACKED_BYTES`): a zip bomb fails here. */
  maxUnpackedBytes: number;
};
