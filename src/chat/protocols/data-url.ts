/** A `data:` URL's media type and base64 payload; undefined when it is not a base64 data URL. */
export function parseDataUrl(url: string): { mediaType: string; base64: string } | undefined {
  const match = /^data:([^;,]+)?((?:;[^;,]*)*);base64,/i.exec(url);
  if (match === null) return undefined;
  return { mediaType: match[1] ?? "application/octet-stream", base64: url.slice(match[0].length) };
}
