import { lookup as dnsLookup } from "node:dns/promises";
import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import { isIP, type LookupFunction, type Socket } from "node:net";
import { SourceError } from "../source-error.ts";
import { isPublicAddress } from "./is-public-address.ts";
import type { SourceDocument } from "./source-document.ts";

export type ResolvedAddress = { address: string; family: number };

export type FetchUrlSourceOptions = {
  maxBytes: number;
  timeoutMs: number;
  maxRedirects?: number;
  /** Name resolution; tests inject one that answers a private address (DNS rebinding). */
  resolve?: (hostname: string) => Promise<ResolvedAddress[]>;
  /** Which addresses may be connected to; only tests widen it (to reach a local server). */
  isAllowedAddress?: (address: string) => boolean;
};

const systemResolve = (hostname: string) => dnsLookup(hostname, { all: true, verbatim: true });

/**
 * Fetches an http(s) URL from public addresses only. The check is made on the address actually
 * connected to: an IP literal (the URL parser turns `127.1`, `0x7f.1` and `2130706433` into
 * `127.0.0.1`) is checked before connecting, a name through our own `lookup` (so a DNS answer
 * cannot change between check and connect), the socket's remote address once connected, and
 * again for every redirect. Bodies are capped at `maxBytes`, the whole fetch at `timeoutMs`.
 */
export async function fetchUrlSource(
  source: string,
  options: FetchUrlSourceOptions,
): Promise<SourceDocument> {
  const isAllowed = options.isAllowedAddress ?? isPublicAddress;
  const resolve = options.resolve ?? systemResolve;
  const maxRedirects = options.maxRedirects ?? 3;
  const signal = AbortSignal.timeout(options.timeoutMs);

  let url = parseHttpUrl(source);
  for (let redirects = 0; ; redirects += 1) {
    const response = await request(url, { isAllowed, resolve, signal });
    const status = response.statusCode ?? 0;
    if (status >= 300 && status < 400 && response.headers.location) {
      response.destroy();
      if (redirects >= maxRedirects) {
        throw new SourceError({
          code: "SOURCE_REFUSED",
          message: `The URL redirected more than ${maxRedirects} times.`,
        });
      }
      url = parseHttpUrl(new URL(response.headers.location, url).href);
      continue;
    }
    if (status >= 500 || status === 429 || status === 408) {
      response.destroy();
      throw new SourceError({ code: "SOURCE_FETCH_FAILED", message: `The URL answered HTTP ${status}.` });
    }
    if (status < 200 || status >= 300) {
      response.destroy();
      const code = status === 404 || status === 410 ? "SOURCE_NOT_FOUND" : "SOURCE_HTTP_ERROR";
      throw new SourceError({ code, message: `The URL answered HTTP ${status}.` });
    }
    const declaredLength = Number(response.headers["content-length"] ?? Number.NaN);
    if (declaredLength > options.maxBytes) {
      response.destroy();
      throw tooLarge(options.maxBytes);
    }
    const body = await readCapped(response, options.maxBytes, signal);
    return { source, body, contentType: response.headers["content-type"] ?? "" };
  }
}

function parseHttpUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new SourceError({ code: "SOURCE_REFUSED", message: "The source is not a valid URL." });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new SourceError({ code: "SOURCE_REFUSED", message: "Only http and https URLs can be ingested." });
  }
  if (url.username || url.password) {
    throw new SourceError({ code: "SOURCE_REFUSED", message: "URLs with credentials are not accepted." });
  }
  return url;
}

type RequestContext = {
  isAllowed: (address: string) => boolean;
  resolve: (hostname: string) => Promise<ResolvedAddress[]>;
  signal: AbortSignal;
};

/**
 * The address a name resolved to stays out of the message: shown on `/status`, it would let a
 * client map the internal network by asking which names resolve where.
 */
function refused(): SourceError {
  return new SourceError({
    code: "SOURCE_REFUSED",
    message: "The URL's host is not a public address; refused.",
  });
}

function tooLarge(maxBytes: number): SourceError {
  return new SourceError({
    code: "SOURCE_TOO_LARGE",
    message: `The URL's body is larger than ${maxBytes} bytes.`,
  });
}

function timedOut(): SourceError {
  return new SourceError({ code: "SOURCE_TIMEOUT", message: "Fetching the URL timed out." });
}

function request(url: URL, context: RequestContext): Promise<IncomingMessage> {
  const hostname = url.hostname.replace(/^\[|\]$/g, "");
  // Node connects to an IP literal without calling `lookup`, so it is checked here.
  if (isIP(hostname) !== 0 && !context.isAllowed(hostname)) return Promise.reject(refused());

  const lookup: LookupFunction = (name, lookupOptions, callback) => {
    context.resolve(name).then(
      (addresses) => {
        const denied = addresses.find((entry) => !context.isAllowed(entry.address));
        if (addresses.length === 0) {
          callback(
            new SourceError({ code: "SOURCE_NOT_FOUND", message: `The host ${name} has no address.` }),
            "",
            0,
          );
        } else if (denied) {
          // Refuse the name outright if any answer is private, rather than pick a public one.
          callback(refused(), "", 0);
        } else if (lookupOptions.all) {
          (callback as unknown as (error: null, addresses: ResolvedAddress[]) => void)(null, addresses);
        } else {
          callback(null, addresses[0].address, addresses[0].family);
        }
      },
      () =>
        callback(
          new SourceError({
            code: "SOURCE_FETCH_FAILED",
            message: `The host ${name} could not be resolved.`,
          }),
          "",
          0,
        ),
    );
  };

  return new Promise((resolve, reject) => {
    const client = url.protocol === "https:" ? https : http;
    const outgoing = client.request(url, {
      method: "GET",
      agent: false,
      lookup,
      signal: context.signal,
      headers: {
        "user-agent": "llm-api-service-ingest/1",
        accept: "text/*, application/json;q=0.9, */*;q=0.5",
      },
    });
    // The last line of defence: whatever was resolved, the connected peer must be allowed.
    outgoing.on("socket", (socket: Socket) => {
      socket.once("connect", () => {
        if (!context.isAllowed(socket.remoteAddress ?? "")) outgoing.destroy(refused());
      });
    });
    outgoing.once("response", resolve);
    outgoing.once("error", (error) => {
      if (error instanceof SourceError) reject(error);
      else if (context.signal.aborted) reject(timedOut());
      else
        reject(
          new SourceError({
            code: "SOURCE_FETCH_FAILED",
            message: `Fetching the URL failed (${(error as NodeJS.ErrnoException).code ?? "network error"}).`,
            cause: error,
          }),
        );
    });
    outgoing.end();
  });
}

async function readCapped(response: IncomingMessage, maxBytes: number, signal: AbortSignal): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of response) {
      total += (chunk as Buffer).length;
      if (total > maxBytes) {
        response.destroy();
        throw tooLarge(maxBytes);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    if (error instanceof SourceError) throw error;
    if (signal.aborted) throw timedOut();
    throw new SourceError({
      code: "SOURCE_FETCH_FAILED",
      message: "The connection broke while reading the URL.",
      cause: error,
    });
  }
  return Buffer.concat(chunks);
}
