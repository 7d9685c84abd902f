import path from "node:path";

const byExtension: Record<string, string> = {
  ".txt": "text/plain",
  ".text": "text/plain",
  ".log": "text/plain",
  ".csv": "text/plain",
  ".md": "text/markdown",
  ".markdown": "text/markdown",
  ".html": "text/html",
  ".htm": "text/html",
  ".json": "application/json",
};

/** A media type from a Content-Type header (parameters dropped) or, failing that, from a name's extension. */
export function mediaTypeFor(name: string, contentTypeHeader?: string): string {
  const declared = contentTypeHeader?.split(";")[0].trim().toLowerCase();
  if (declared && declared !== "application/octet-stream") return declared;
  let extension = "";
  try {
    extension = path.extname(new URL(name).pathname).toLowerCase();
  } catch {
    extension = path.extname(name).toLowerCase();
  }
  return byExtension[extension] ?? "text/plain";
}
