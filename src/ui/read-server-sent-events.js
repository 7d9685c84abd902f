// Reads a text/event-stream response as it arrives. EventSource cannot send an Authorization header
// nor a POST body, so the console reads the fetch body itself.

/**
 * Yields `{ event, data }` for each event: `event` is "message" when the frame names none, and
 * `data` joins the frame's `data:` lines with "\n", so a chunk that held newlines comes back whole.
 */
export async function* readServerSentEvents(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let boundary = frameBoundary(buffer);
      while (boundary !== undefined) {
        const frame = parseFrame(buffer.slice(0, boundary.index));
        buffer = buffer.slice(boundary.index + boundary.length);
        if (frame !== undefined) yield frame;
        boundary = frameBoundary(buffer);
      }
    }
  } finally {
    reader.releaseLock();
  }
}

function frameBoundary(buffer) {
  const match = /\r?\n\r?\n/.exec(buffer);
  return match === null ? undefined : { index: match.index, length: match[0].length };
}

function parseFrame(text) {
  let event = "message";
  const data = [];
  for (const line of text.split(/\r?\n/)) {
    // Comment lines (`: ping`) only keep the connection alive.
    if (line === "" || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  if (data.length === 0) return undefined;
  return { event, data: data.join("\n") };
}
