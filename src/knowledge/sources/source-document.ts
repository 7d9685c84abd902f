/** Raw content read from a source, before text extraction. */
export type SourceDocument = {
  /** What the client named: a URL, a path under INGEST_ROOT, or the name of inline text. */
  source: string;
  body: Buffer;
  /**
   * The Content-Type the source declared (a URL's header), or empty: only a hint, as is the name;
   * the document's type is detected from its bytes when it is read.
   */
  contentType: string;
};
