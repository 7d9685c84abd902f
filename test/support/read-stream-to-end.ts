/**
 * Reads a response body to its end and answers the text. A body still open after `timeoutMs` is
 * cancelled (the connection closes, so the server side can finish) and the read fails.
 */
export async function readStreamToEnd(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  timeoutMs = 5000,
): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    reader.cancel().catch(() => {});
  }, timeoutMs);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    clearTimeout(timer);
  }
  if (timedOut)
    throw new Error(
      `the stream did not end within ${timeoutMs} ms; it ends ${JSON.stringify(text.slice(-200))}`,
    );
  return text;
}
