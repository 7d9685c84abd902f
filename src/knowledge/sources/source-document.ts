/** Raw content read from a source, before text extraction. */
export type SourceDocument = {
  /** What the client named: a URL, a path under INGEST_ROOT, or the name of inline text. */
  source: string;
  body: Buffer;
  /** A media type without parameters, e.g. `text/html`; guessed from the name when unknown. */
  contentType: string;
};
