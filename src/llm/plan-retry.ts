import { setTimeout as sleep } from "node:timers/promises";
import { APICallError } from "@ai-sdk/provider";
import { upstreamStatus } from "./map-upstream-error.ts";
import { retryAfterMs } from "./retry-after-ms.ts";

export type RetryOptions = {
  /** `LLM_MAX_RETRIES`: attempts after the first. */
  maxRetries: number;
  /** The first backoff; each later one doubles. */
  retryBaseDelayMs?: number;
  random?: () => number;
};

export type RetryPlan = { reason: string; delayMs: number };

/** An upstream that asks for a longer wait is not waited for: the client gets its 429 instead. */
export const MAX_RETRY_AFTER_MS = 60_000;
const MAX_BACKOFF_MS = 8_000;
const DEFAULT_BASE_DELAY_MS = 500;
const NETWORK_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "UND_ERR_SOCKET"]);

/**
 * Whether and when to retry a failed attempt: 408, 409, 429, 5xx and connection failures, after
 * the upstream's `retry-after-ms` / `Retry-After` or an exponential backoff with jitter.
 * `attempt` counts from 0. The caller makes sure nothing reached the client yet.
 */
export function planRetry(error: unknown, attempt: number, options: RetryOptions): RetryPlan | undefined {
  if (attempt >= options.maxRetries) return undefined;
  const reason = retryReason(error);
  if (reason === undefined) return undefined;
  const asked = APICallError.isInstance(error) ? retryAfterMs(error.responseHeaders) : undefined;
  if (asked !== undefined) return asked > MAX_RETRY_AFTER_MS ? undefined : { reason, delayMs: asked };
  const ceiling = Math.min(
    MAX_BACKOFF_MS,
    (options.retryBaseDelayMs ?? DEFAULT_BASE_DELAY_MS) * 2 ** attempt,
  );
  // Half fixed, half random: spreads a burst of clients without ever retrying at once.
  return { reason, delayMs: ceiling / 2 + (options.random ?? Math.random)() * (ceiling / 2) };
}

function retryReason(error: unknown): string | undefined {
  const statusCode = upstreamStatus(error);
  if (statusCode === 429) return "rate_limited";
  if (statusCode === 408) return "upstream_timeout";
  if (statusCode === 409) return "conflict";
  if (statusCode !== undefined && statusCode >= 500) return "server_error";
  if (statusCode !== undefined) return undefined;
  if (APICallError.isInstance(error)) return error.isRetryable ? "connection_error" : undefined;
  if ((error as { isRetryable?: unknown } | null)?.isRetryable === true) return "stream_error";
  return isNetworkError(error) ? "connection_error" : undefined;
}

/** undici reports a socket that died under a response body as `TypeError: terminated`. */
function isNetworkError(error: unknown): boolean {
  let current = error;
  for (let depth = 0; current instanceof Error && depth < 5; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && NETWORK_CODES.has(code)) return true;
    if (current instanceof TypeError && current.message === "terminated") return true;
    current = current.cause;
  }
  return false;
}

/** Waits out a retry delay; throws the signal's reason at once if the client leaves meanwhile. */
export async function waitBeforeRetry(delayMs: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(delayMs, undefined, { signal });
  } catch {
    throw signal.reason;
  }
}
