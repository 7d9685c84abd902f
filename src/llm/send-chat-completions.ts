import type { IncomingHttpHeaders } from "node:http";
import { APICallError } from "@ai-sdk/provider";
import type { Dispatcher } from "undici";
import type { ChatCompletionsUpstream } from "./chat-completions-upstreams.ts";
import { type CollectedResponse, collectResponse } from "./collect-response.ts";

/**
 * One POST to `<baseURL>/chat/completions`; resolves once a 2xx status and its headers arrived,
 * with the body to read as a stream.
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
    response = await upstream.pool.request({ ...requestOptions(upstream, body, traceHeaders), signal });
  } catch (error) {
    throw connectionError(upstream, error, signal);
  }
  if (isSuccess(response.statusCode)) return response;
  const responseBody = await response.body.text().catch(() => "");
  throw statusError(upstream, response.statusCode, response.headers, responseBody);
}

/**
 * The same POST for a non-streaming answer: resolves with the whole 2xx body, collected without a
 * body stream (see `collectResponse`). Fails as `sendChatCompletions` does.
 */
export async function fetchChatCompletion(
  upstream: ChatCompletionsUpstream,
  body: string,
  traceHeaders: Record<string, string>,
  signal: AbortSignal,
): Promise<string> {
  let response: CollectedResponse;
  try {
    response = await collectResponse(upstream.pool, requestOptions(upstream, body, traceHeaders), signal);
  } catch (error) {
    throw connectionError(upstream, error, signal);
  }
  if (isSuccess(response.statusCode)) return response.body;
  throw statusError(upstream, response.statusCode, response.headers, response.body);
}

function requestOptions(
  upstream: ChatCompletionsUpstream,
  body: string,
  traceHeaders: Record<string, string>,
): Dispatcher.DispatchOptions {
  return {
    path: upstream.path,
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: upstream.authorization,
      ...traceHeaders,
    },
    body,
  };
}

const isSuccess = (statusCode: number) => statusCode >= 200 && statusCode < 300;

/** An abort is the caller's to explain (timeout or client gone), not a connection failure. */
function connectionError(upstream: ChatCompletionsUpstream, error: unknown, signal: AbortSignal): unknown {
  if (signal.aborted) return error;
  return new APICallError({
    message: "Cannot connect to the model provider.",
    url: upstream.url,
    requestBodyValues: undefined,
    cause: error,
    isRetryable: true,
  });
}

function statusError(
  upstream: ChatCompletionsUpstream,
  statusCode: number,
  headers: IncomingHttpHeaders,
  responseBody: string,
): APICallError {
  return new APICallError({
    message: `The model provider answered ${statusCode}.`,
    url: upstream.url,
    requestBodyValues: undefined,
    statusCode,
    responseHeaders: singleValued(headers),
    responseBody,
  });
}

function singleValued(headers: IncomingHttpHeaders): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) result[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return result;
}
