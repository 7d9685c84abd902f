/**
 * Text with no control character (C0, DEL, C1: NUL, newline, escape...) and no unpaired
 * surrogate. Names and identifiers a client chooses (a model, a key's name, a document's source)
 * must be printable: they go into headers, log lines, metric labels and database columns, and
 * PostgreSQL cannot store a NUL nor SQLite read one back, while an unpaired surrogate has no
 * UTF-8 form at all. Refusing them keeps every such value exactly as the client sent it.
 */
const PRINTABLE_TEXT = /^[^\p{Cc}\p{Cs}]*$/u;

export function isPrintableText(value: string): boolean {
  return PRINTABLE_TEXT.test(value);
}

/** What is wrong with text that is not printable, after the name of its field. */
export const NOT_PRINTABLE =
  "must be printable text: no control character (NUL, newline, tab...) and no unpaired surrogate";

/** The JSON-schema `format` of such text, checked by the request validator. */
export const PRINTABLE_FORMAT = "printable";
