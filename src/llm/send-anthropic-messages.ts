import type { IncomingHttpHeaders } from "node:http";
import { APICallError } from "@ai-sdk/provider";
import type { Dispatcher } from "undici";
import { type AnthropicMessagesUpstream, DEFAULT_ANTHROPIC_VERSION } from "./anthropic-messages-upstream.ts";
import { type CollectedResponse, collectResponse } from "./collect-response.ts";

/** One POST to the Messages API (or its `count_tokens`), with what the client said of the API. */
export type AnthropicPost = Readonly<{
  upstream: AnthropicMessagesUpstream;
  /** `messages` or `count_tokens`. */
  endpoint: "messages" | "count_tokens";
  body: string;
  /** The client's `anthropic-version` and `anthropic-beta`, passed on when given. */
  clientHeaders: Readonly<{ version?: string; beta?: string }>;
  traceHeaders: Record<string, string>;
  signal: AbortSignal;
}>;

/**
 * Resolves once a 2xx status and its headers arrived, with the body to read as a stream.
 * Failures are thrown as the AI SDK's `APICallError`, as `sendChatCompletions` throws them, so that
 * `planRetry` and `mapUpstreamError` treat every path alike.
 */
export async function sendAnthropicMessages(post: AnthropicPost): Promise<Dispatcher.ResponseData> {
  let response: Dispatcher.ResponseData;
  try {
    response = await post.upstream.pool.request({ ...requestOptions(post), signal: post.signal });
  } catch (error) {
    throw connectionError(post, error);
  }
  if (isSuccess(response.statusCode)) return response;
  const responseBody = await response.body.text().catch(() => "");
  throw statusError(post, response.statusCode, response.headers, responseBody);
}

/** The same POST for a whole JSON answer, collected without a body stream (see `collectResponse`). */
export async function fetchAnthropicMessages(post: AnthropicPost): Promise<string> {
  let response: CollectedResponse;
  try {
    response = await collectResponse(post.upstream.pool, requestOptions(post), post.signal);
  } catch (error) {
    throw connectionError(post, error);
  }
  if (isSuccess(response.statusCode)) return response.body;
  throw statusError(post, response.statusCode, response.headers, response.body);
}

function requestOptions(post: AnthropicPost): Dispatcher.DispatchOptions {
  const { upstream, clientHeaders } = post;
  return {
    path: post.endpoint === "messages" ? upstream.path : upstream.countTokensPath,
    method: "POST",
    headers: {
      "content-type": "application/json",
      // The service's own key: the client's `x-api-key` is for this service, never passed on.
      "x-api-key": upstream.apiKey,
      "anthropic-version": clientHeaders.version ?? DEFAULT_ANTHROPIC_VERSION,
      ...(clientHeaders.beta === undefined ? {} : { "anthropic-beta": clientHeaders.beta }),
      ...post.traceHeaders,
    },
    body: post.body,
  };
}

const isSuccess = (statusCode: number) => statusCode >= 200 && statusCode < 300;

const urlOf = (post: AnthropicPost) =>
  post.endpoint === "messages" ? post.upstream.url : post.upstream.countTokensUrl;

/** An abort is the caller's to explain (timeout or client gone), not a connection failure. */
function connectionError(post: AnthropicPost, error: unknown): unknown {
  if (post.signal.aborted) return error;
  return new APICallError({
    message: "Cannot connect to the model provider.",
    url: urlOf(post),
    requestBodyValues: undefined,
    cause: error,
    isRetryable: true,
  });
}

function statusError(
  post: AnthropicPost,
  statusCode: number,
  headers: IncomingHttpHeaders,
  responseBody: string,
): APICallError {
  const responseHeaders: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) responseHeaders[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return new APICallError({
    message: `The model provider answered ${statusCode}.`,
    url: urlOf(post),
    requestBodyValues: undefined,
    statusCode,
    responseHeaders,
    responseBody,
  });
}
