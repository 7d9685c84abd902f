/** Characters of a chunk's start that stand for its snippet when a vector matched it. */
const VECTOR_SNIPPET_CHARS = 200;

/** The start of a chunk, cut at a word, for a hit that no word matched (a vector search's). */
export function vectorSnippet(text: string): string {
  if (text.length <= VECTOR_SNIPPET_CHARS) return text;
  const cut = text.lastIndexOf(" ", VECTOR_SNIPPET_CHARS);
  return `${text.slice(0, cut > VECTOR_SNIPPET_CHARS / 2 ? cut : VECTOR_SNIPPET_CHARS)}…`;
}
