import { SourceError } from "../source-error.ts";
import type { ExtractedDocument } from "./extracted-document.ts";

/**
 * A CSV file as one line per row, each value with its column's header (`name: Ada; role: engineer`),
 * so a chunk of rows still says what each value is. The first row is the header. Rows are apart
 * as paragraphs, so chunking never cuts one. Quoted fields (RFC 4180) may hold commas, quotes
 * and line breaks; a quote left open makes the file unreadable. Semicolon- and tab-separated
 * files are recognised by their header line.
 */
export function extractCsv(text: string): ExtractedDocument {
  const rows = parseCsv(text, separatorOf(text));
  const [header, ...records] = rows.filter((row) => row.some((value) => value.trim() !== ""));
  if (header === undefined) return { type: "csv", sections: [] };
  const names = header.map((name, index) => name.trim() || `column ${index + 1}`);
  const lines = records.map((record) =>
    record
      .map((value, index) => [names[index] ?? `column ${index + 1}`, value.trim()] as const)
      .filter(([, value]) => value !== "")
      .map(([name, value]) => `${name}: ${value.replace(/\s+/g, " ")}`)
      .join("; "),
  );
  const body = lines.filter((line) => line !== "").join("\n\n");
  return { type: "csv", sections: body === "" ? [] : [{ text: body }] };
}

function separatorOf(text: string): string {
  const firstLine = text.slice(0, text.search(/\r?\n|$/));
  const counts = [",", ";", "\t"].map((separator) => [separator, firstLine.split(separator).length] as const);
  return counts.reduce((best, next) => (next[1] > best[1] ? next : best))[0];
}

function parseCsv(text: string, separator: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let index = 0; index < text.length; index += 1) {
    const character = text[index];
    if (quoted) {
      if (character === '"' && text[index + 1] === '"') {
        field += '"';
        index += 1;
      } else if (character === '"') quoted = false;
      else field += character;
    } else if (character === '"' && field.trim() === "") {
      quoted = true;
      field = "";
    } else if (character === separator) {
      row.push(field);
      field = "";
    } else if (character === "\n" || character === "\r") {
      if (character === "\r" && text[index + 1] === "\n") index += 1;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += character;
  }
  if (quoted) {
    throw new SourceError({
      code: "SOURCE_UNREADABLE",
      message: "The CSV file has a quoted field that never ends.",
    });
  }
  if (field !== "" || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}
