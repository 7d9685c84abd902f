import cors from "@fastify/cors";
import helmet from "@fastify/helmet";
import type { FastifyInstance } from "fastify";
import fastifyPlugin from "fastify-plugin";

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
    await app.register(helmet, {
      global: true,
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
