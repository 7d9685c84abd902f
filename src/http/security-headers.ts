import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import cors from "@fastify/cors";
import type { FastifyInstance } from "fastify";
import fastifyPlugin from "fastify-plugin";
import helmet, { type HelmetOptions } from "helmet";
import { replyHeaderRecord } from "./reply-header-record.ts";

export type SecurityHeadersOptions = {
  /** `CORS_ORIGINS`: exact origins a browser may call from; empty for none. */
  corsOrigins: readonly string[];
};

/**
 * Security headers on every response (helmet), with a Content-Security-Policy under which
 * same-origin module scripts and stylesheets run and inline script never does: what `/docs`
 * (which sets its own stricter policy with its hashes) and a `/ui` console of static files need.
 * CORS answers only the allowed origins; for any other, nothing is reflected.
 */
export const securityHeadersPlugin = fastifyPlugin(
  async function securityHeaders(app: FastifyInstance, options: SecurityHeadersOptions) {
    // The same headers on every response: worked out by helmet once, set by a hook each time.
    // (@fastify/helmet rebuilds helmet's middleware, CSP parsing included, on every request.)
    const headers = helmetHeaders({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          baseUri: ["'self'"],
          scriptSrc: ["'self'"],
          scriptSrcAttr: ["'none'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", "data:"],
          fontSrc: ["'self'", "data:"],
          connectSrc: ["'self'"],
          objectSrc: ["'none'"],
          frameAncestors: ["'none'"],
          formAction: ["'self'"],
        },
      },
      // The API is called cross-origin by allowed browsers; CORS decides, not this header.
      crossOriginResourcePolicy: { policy: "same-site" },
      // Left out: headers that no browser in use reads. X-Download-Options is Internet Explorer 8's,
      // X-Permitted-Cross-Domain-Policies is Flash's, and X-XSS-Protection switches off an XSS
      // filter that every current browser has removed. Each costs every response, and more so in
      // numbers: past 21 headers, V8 turns the reply's header object into a dictionary, slower to
      // fill and to write out. An answer with rate limits held 23; without these three it holds 20,
      // and its header work in a profile went from ~6.5 µs over the open service's to ~2.5 µs.
      xDownloadOptions: false,
      xPermittedCrossDomainPolicies: false,
      xXssProtection: false,
    });
    // Copied into the reply's own record (lowercase names, as `reply.header` would store them): one
    // builtin copy of a fixed object, where `reply.headers` stores them one by one under keys that
    // change from call to call, each a store through V8's runtime (README, "2026-12-07, later").
    app.addHook("onRequest", (_request, reply, done) => {
      Object.assign(replyHeaderRecord(reply), headers);
      done();
    });
    if (options.corsOrigins.length === 0) return;
    const allowed = new Set(options.corsOrigins);
    await app.register(cors, {
      origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
      methods: ["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
      allowedHeaders: ["authorization", "content-type", "x-api-key", "x-request-id", "traceparent"],
      exposedHeaders: [
        "x-request-id",
        "retry-after",
        "x-ratelimit-limit-requests",
        "x-ratelimit-remaining-requests",
        "x-ratelimit-reset-requests",
        "x-ratelimit-limit-tokens",
        "x-ratelimit-remaining-tokens",
        "x-ratelimit-reset-tokens",
      ],
      maxAge: 600,
    });
  },
  { name: "security-headers" },
);

/** The headers helmet's middleware sets with `options`, read once from a stand-in response. */
function helmetHeaders(options: HelmetOptions): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  const response = {
    setHeader(name: string, value: string | number | string[]) {
      headers[name.toLowerCase()] = value;
      return response;
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  helmet(options)({} as IncomingMessage, response as unknown as ServerResponse, (error?: unknown) => {
    if (error !== undefined) throw error;
  });
  return headers;
}
