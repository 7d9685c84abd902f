export type ChunkOptions = {
  /** Largest chunk, in characters. */
  size: number;
  /** Characters of the previous chunk repeated at the start of the next, so no idea is cut in two. */
  overlap: number;
};

/**
 * Splits text into chunks of at most `size` characters: whole paragraphs where they fit, then
 * whole sentences, then (for a sentence longer than a chunk) words or hard cuts. Each chunk after
 * the first begins with up to `overlap` characters from the end of the previous one, taken from
 * a sentence or word boundary.
 */
export function chunkText(text: string, options: ChunkOptions): string[] {
  const pieces = splitIntoPieces(text, options.size);
  const chunks: string[] = [];
  let current = "";
  for (const piece of pieces) {
    const joiner = current === "" ? "" : piece.paragraphStart ? "\n\n" : " ";
    if (current !== "" && current.length + joiner.length + piece.text.length > options.size) {
      chunks.push(current);
      const carried = tail(current, Math.min(options.overlap, options.size - piece.text.length - 1));
      current = carried === "" ? piece.text : `${carried} ${piece.text}`;
    } else {
      current += joiner + piece.text;
    }
  }
  if (current.trim() !== "") chunks.push(current);
  return chunks;
}

type Piece = { text: string; paragraphStart: boolean };

function splitIntoPieces(text: string, size: number): Piece[] {
  const pieces: Piece[] = [];
  for (const paragraph of text.split(/\n\s*\n/)) {
    const trimmed = paragraph.trim();
    if (trimmed === "") continue;
    if (trimmed.length <= size) {
      pieces.push({ text: trimmed, paragraphStart: true });
      continue;
    }
    let first = true;
    for (const sentence of sentences(trimmed)) {
      for (const part of sentence.length <= size ? [sentence] : hardSplit(sentence, size)) {
        pieces.push({ text: part, paragraphStart: first });
        first = false;
      }
    }
  }
  return pieces;
}

function sentences(paragraph: string): string[] {
  const segmenter = new Intl.Segmenter("en", { granularity: "sentence" });
  return [...segmenter.segment(paragraph)].map((segment) => segment.segment.trim()).filter(Boolean);
}

/** A sentence longer than a chunk: cut at the last space that fits, or mid-word if there is none. */
function hardSplit(sentence: string, size: number): string[] {
  const parts: string[] = [];
  let rest = sentence;
  while (rest.length > size) {
    const space = rest.lastIndexOf(" ", size);
    const cut = space > size / 2 ? space : size;
    parts.push(rest.slice(0, cut).trim());
    rest = rest.slice(cut).trim();
  }
  if (rest !== "") parts.push(rest);
  return parts;
}

/** The last `length` characters of `text`, starting at a word boundary. */
function tail(text: string, length: number): string {
  if (length <= 0) return "";
  if (text.length <= length) return text;
  const slice = text.slice(text.length - length);
  const space = slice.search(/\s/);
  return space === -1 ? "" : slice.slice(space).trim();
}
