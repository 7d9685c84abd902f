// Every call the console makes to the service goes through here, so each one carries the key and
// every failure arrives in one shape: an ApiError with the status, the stable code and the message.

const KEY_STORAGE = "llm-console.api-key";

/** Fired on `window` when the service answers 401: the console asks for a key. */
export const KEY_REQUIRED_EVENT = "console:key-required";
/** Fired on `window` when the key is set or forgotten, so views reload what they show. */
export const KEY_CHANGED_EVENT = "console:key-changed";

export class ApiError extends Error {
  constructor({ status, code, message, requestId }) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.requestId = requestId;
  }
}

export function storedKey() {
  return sessionStorage.getItem(KEY_STORAGE) ?? "";
}

export function storeKey(key) {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
  window.dispatchEvent(new CustomEvent(KEY_CHANGED_EVENT));
}

/**
 * `fetch` with the API key (or `options.key`, for the admin API), JSON bodies, and errors thrown
 * as ApiError. The response is returned unread, so streams can be read as they arrive.
 */
export async function apiFetch(path, options = {}) {
  const { json, key = storedKey(), headers = {}, ...init } = options;
  const allHeaders = { accept: "application/json", ...headers };
  if (key) allHeaders.authorization = `Bearer ${key}`;
  if (json !== undefined) {
    allHeaders["content-type"] = "application/json";
    init.body = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(path, { ...init, headers: allHeaders });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError({ status: 0, code: "NETWORK_ERROR", message: "The service could not be reached." });
  }
  if (response.ok) return response;
  const failure = await errorFrom(response);
  // The admin API has a key of its own; its 401 is for its own form, not the service key's.
  if (response.status === 401 && options.key === undefined) {
    window.dispatchEvent(new CustomEvent(KEY_REQUIRED_EVENT, { detail: { message: failure.message } }));
  }
  throw failure;
}

/** `apiFetch` and the JSON body. */
export async function apiJson(path, options) {
  const response = await apiFetch(path, options);
  if (response.status === 204) return null;
  return response.json();
}

async function errorFrom(response) {
  const requestId = response.headers.get("x-request-id") ?? undefined;
  let body;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  // Our envelope is `{error: {code, message}}`; `/v1/*` uses OpenAI's, where `code` may be null.
  const error = body?.error;
  const code = (typeof error?.code === "string" && error.code) || error?.type || `HTTP_${response.status}`;
  const message = error?.message ?? `The service answered ${response.status}.`;
  return new ApiError({ status: response.status, code, message, requestId });
}
