import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import fastifyPlugin from "fastify-plugin";
import { ServiceError } from "../errors/service-error.ts";

/** Probes must work without a key: an orchestrator has none. */
const OPEN_PATHS = new Set(["/health", "/ready"]);

export type AuthenticationOptions = {
  apiKeys: readonly string[];
  /** Requests besides the probes that need no key (the web console's files). */
  isPublic?: (request: FastifyRequest) => boolean;
};

/**
 * When API keys are configured, every other route needs one, as `Authorization: Bearer <key>`
 * (what OpenAI SDKs send) or `x-api-key`.
 */
export const authenticationPlugin = fastifyPlugin(
  async function authentication(app: FastifyInstance, options: AuthenticationOptions) {
    if (options.apiKeys.length === 0) return;
    // Compare digests so the comparison takes the same time whatever the key's length.
    const digests = options.apiKeys.map(digest);
    app.addHook("onRequest", async (request) => {
      if (OPEN_PATHS.has(request.url.split("?")[0]) || options.isPublic?.(request)) return;
      const presented = presentedKey(request);
      if (presented === undefined) {
        throw new ServiceError({ code: "UNAUTHORIZED", message: "An API key is required." });
      }
      const presentedDigest = digest(presented);
      if (!digests.some((known) => timingSafeEqual(known, presentedDigest))) {
        throw new ServiceError({ code: "UNAUTHORIZED", message: "The API key is not valid." });
      }
    });
  },
  {
    name: "authentication",
    // Its refusals carry the request id, are measured and traced, and are sent in our envelope.
    dependencies: ["request-logging", "request-observation", "error-handler"],
  },
);

function presentedKey(request: FastifyRequest): string | undefined {
  const authorization = request.headers.authorization;
  if (typeof authorization === "string" && /^bearer\s+/i.test(authorization)) {
    return authorization.replace(/^bearer\s+/i, "").trim();
  }
  const apiKey = request.headers["x-api-key"];
  return typeof apiKey === "string" && apiKey.length > 0 ? apiKey : undefined;
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}
