/**
 * A streamed `/v1/messages` call as any client sends it (one user message, `max_tokens` 64 unless
 * `body` says otherwise), read with fetch so a test sees the raw events.
 */
export function postMessagesStream(
  address: string,
  model: string,
  options: { signal?: AbortSignal; body?: Record<string, unknown> } = {},
): Promise<Response> {
  return fetch(`${address}/v1/messages`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model,
      max_tokens: 64,
      stream: true,
      messages: [{ role: "user", content: "x" }],
      ...options.body,
    }),
    signal: options.signal,
  });
}
