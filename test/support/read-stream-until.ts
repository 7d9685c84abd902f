/**
 * Reads a response body until what has arrived contains `text`, and answers it. Fails, rather than
 * spinning forever, when the stream ends first.
 */
export async function readStreamUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  text: string,
): Promise<string> {
  const decoder = new TextDecoder();
  let received = "";
  while (!received.includes(text)) {
    const { done, value } = await reader.read();
    if (done)
      throw new Error(
        `the stream ended before ${JSON.stringify(text)} arrived; got ${received.length} characters ending ${JSON.stringify(received.slice(-200))}`,
      );
    received += decoder.decode(value, { stream: true });
  }
  return received;
}
