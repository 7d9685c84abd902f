import type { FastifyRequest } from "fastify";
import { urlPath } from "./url-path.ts";

/** Where the web console is served; its files are public, like `/health`, and its API calls carry the key. */
export const CONSOLE_PATH = "/ui";

/**
 * A browser navigating to a page: its `Accept` names `text/html`. curl's and SDKs' `*\/*` does not,
 * so API clients keep getting JSON at `/`.
 */
export function asksForHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  if (typeof accept !== "string") return false;
  return accept.split(",").some((range) => {
    const [type, ...parameters] = range.trim().toLowerCase().split(";");
    if (type.trim() !== "text/html") return false;
    // `text/html;q=0` means "anything but HTML".
    const quality = parameters.map((parameter) => parameter.trim()).find((p) => p.startsWith("q="));
    return quality === undefined || Number(quality.slice(2)) > 0;
  });
}

/**
 * Requests that need no API key for the console's sake: its own files (which hold no data), and a
 * browser's visit to `/`, which only redirects to them.
 */
export function isConsoleRequest(request: FastifyRequest): boolean {
  if (request.method !== "GET" && request.method !== "HEAD") return false;
  const path = urlPath(request.url);
  if (path === CONSOLE_PATH || path.startsWith(`${CONSOLE_PATH}/`)) return true;
  return path === "/" && asksForHtml(request);
}
