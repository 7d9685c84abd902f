import { APICallError } from "@ai-sdk/provider";
import type { Dispatcher } from "undici";
import type { ChatCompletionsUpstream } from "./chat-completions-upstreams.ts";

/**
 * One POST to `<baseURL>/chat/completions`; resolves once a 2xx status and its headers arrived.
 *
 * Failures are thrown as the AI SDK's `APICallError`, as its providers throw them, so that
 * `planRetry` and `mapUpstreamError` treat both paths alike: an error status with its headers
 * (for `Retry-After`) and body (for the log only), or no status when the connection failed.
 */
export async function sendChatCompletions(
  upstream: ChatCompletionsUpstream,
  body: string,
  traceHeaders: Record<string, string>,
  signal: AbortSignal,
): Promise<Dispatcher.ResponseData> {
  let response: Dispatcher.ResponseData;
  try {
    response = await upstream.pool.request({
      path: upstream.path,
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: upstream.authorization,
        ...traceHeaders,
      },
      body,
      signal,
    });
  } catch (error) {
    // An abort is the caller's to explain (timeout or client gone), not a connection failure.
    if (signal.aborted) throw error;
    throw new APICallError({
      message: "Cannot connect to the model provider.",
      url: upstream.url,
      requestBodyValues: undefined,
      cause: error,
      isRetryable: true,
    });
  }
  if (response.statusCode >= 200 && response.statusCode < 300) return response;
  const responseBody = await response.body.text().catch(() => "");
  throw new APICallError({
    message: `The model provider answered ${response.statusCode}.`,
    url: upstream.url,
    requestBodyValues: undefined,
    statusCode: response.statusCode,
    responseHeaders: singleValued(response.headers),
    responseBody,
  });
}

function singleValued(headers: Dispatcher.ResponseData["headers"]): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) result[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return result;
}
