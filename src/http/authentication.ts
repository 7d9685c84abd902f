import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import fastifyPlugin from "fastify-plugin";
import { digestKey } from "../access/key-digest.ts";
import type { KeyDirectory } from "../access/key-directory.ts";
import { type Principal, virtualPrincipal } from "../access/principal.ts";
import { isKeyUsable, type VirtualKey } from "../access/virtual-key.ts";
import { ServiceError } from "../errors/service-error.ts";
import { type CredentialHeaders, fromCredentialHeaders } from "./from-credential-headers.ts";
import { readPresentedKeys } from "./redact-secrets.ts";
import { urlPath } from "./url-path.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** Who is calling: set by the authentication hook on every route but the probes. */
    principal: Principal | undefined;
    /**
     * The keys the request's credential headers hold, as authentication read them, for
     * `refuseKeyAsModel` and the redaction of error messages; undefined where authentication read
     * no headers (the probes, open mode).
     */
    presentedKeys: readonly string[] | undefined;
  }
}

/** Probes must work without a key: an orchestrator has none. */
const OPEN_PATHS = new Set(["/health", "/ready"]);

export type AuthenticationOptions = {
  /** `API_KEYS`: a fixed list, without limits. */
  apiKeys: readonly string[];
  /** `ADMIN_API_KEY`: the only key of `/admin/*`, and never a virtual key. */
  adminApiKey?: string;
  /** Finds virtual keys by their digest; without it only the fixed keys are known. */
  keyDirectory?: KeyDirectory;
  now?: () => number;
  /** Requests besides the probes that need no key (the web console's files). */
  isPublic?: (request: FastifyRequest) => boolean;
};

const OPEN: Principal = { kind: "open" };
const ADMIN: Principal = { kind: "admin" };
const STATIC: Principal = { kind: "static" };

/**
 * With `API_KEYS` or `ADMIN_API_KEY` set, every route but the probes needs a key, as
 * `Authorization: Bearer <key>` (what OpenAI SDKs send) or `x-api-key`: the admin key, a key of
 * the list, or a virtual key. `/admin/*` takes the admin key alone; any other valid key there is 403.
 * With neither set the service is open and every caller is `open`.
 */
export const authenticationPlugin = fastifyPlugin(
  async function authentication(app: FastifyInstance, options: AuthenticationOptions) {
    app.decorateRequest("principal", undefined);
    app.decorateRequest("presentedKeys", undefined);
    const secured = options.apiKeys.length > 0 || options.adminApiKey !== undefined;
    const now = options.now ?? Date.now;
    // Compare digests so the comparison takes the same time whatever the key's length.
    const staticDigests = options.apiKeys.map(digest);
    const adminDigest = options.adminApiKey === undefined ? undefined : digest(options.adminApiKey);

    /** Whether a digest is the admin key's or one of `API_KEYS`, each compared in constant time. */
    const fixedKeyOf = (digestBytes: Buffer): Principal | undefined => {
      if (adminDigest !== undefined && timingSafeEqual(adminDigest, digestBytes)) return ADMIN;
      return staticDigests.some((known) => timingSafeEqual(known, digestBytes)) ? STATIC : undefined;
    };
    const digestOf = keyDigestOf(fixedKeyOf);

    const findVirtualKey = async (digestHex: string): Promise<VirtualKey | undefined> => {
      try {
        return await options.keyDirectory?.find(digestHex);
      } catch (error) {
        throw new ServiceError({
          code: "NOT_READY",
          message: "The key store cannot be read; retry shortly.",
          retryAfterSeconds: 1,
          cause: error,
        });
      }
    };
    /** The principal a key found (or not) stands for on this path, or the refusal. */
    const admitted = (principal: Principal | undefined, isAdminPath: boolean): Principal => {
      if (principal !== undefined && isAdminPath) {
        throw new ServiceError({ code: "FORBIDDEN", message: "The admin API takes the admin key only." });
      }
      if (principal === undefined || isAdminPath) {
        throw new ServiceError({ code: "UNAUTHORIZED", message: "The API key is not valid." });
      }
      return principal;
    };
    const asVirtual = (key: VirtualKey | undefined, time: number): Principal | undefined =>
      key !== undefined && isKeyUsable(key, time) ? virtualPrincipal(key) : undefined;

    // Callback-style, and waiting only when the key store must be read: this runs on every request,
    // and an async hook costs each one a promise.
    app.addHook("onRequest", (request, _reply, done) => {
      const path = urlPath(request.url);
      if (OPEN_PATHS.has(path) || options.isPublic?.(request)) return done();
      if (!secured) {
        request.principal = OPEN;
        return done();
      }
      try {
        const digest = fromCredentialHeaders(request, lastKeyDigest, digestOf);
        if (digest === undefined) {
          throw new ServiceError({ code: "UNAUTHORIZED", message: "An API key is required." });
        }
        const { digestHex, fixed } = digest;
        request.presentedKeys = digest.presentedKeys;
        if (fixed === ADMIN) {
          request.principal = ADMIN;
          return done();
        }
        const isAdminPath = path === "/admin" || path.startsWith("/admin/");
        if (fixed === STATIC) {
          request.principal = admitted(STATIC, isAdminPath);
          return done();
        }
        // One reading of the clock serves the cache's freshness and the key's expiry.
        const time = now();
        const known =
          options.keyDirectory === undefined
            ? { key: undefined }
            : options.keyDirectory.known(digestHex, time);
        if (known !== undefined) {
          request.principal = admitted(asVirtual(known.key, time), isAdminPath);
          return done();
        }
        findVirtualKey(digestHex)
          .then((key) => admitted(asVirtual(key, now()), isAdminPath))
          .then(
            (principal) => {
              request.principal = principal;
              done();
            },
            (error: Error) => done(error),
          );
      } catch (error) {
        done(error as Error);
      }
    });
  },
  {
    name: "authentication",
    // Its refusals carry the request id, are measured and traced, and are sent in our envelope.
    dependencies: ["request-logging", "request-observation", "error-handler"],
  },
);

const BEARER = /^bearer\s+/i;

const lastKeyDigest = Symbol("lastKeyDigest");

type KeyDigest = Readonly<{
  digestHex: string;
  /** ADMIN or STATIC when the key is the admin key or one of `API_KEYS`. */
  fixed: Principal | undefined;
  /** Every key the headers hold (see `readPresentedKeys`), read once with the digest. */
  presentedKeys: readonly string[];
}>;

/**
 * What a connection's credential headers come to (see `fromCredentialHeaders`, which remembers it
 * for the connection's next request): the SHA-256 of the presented key, in hex (what the key
 * store indexes), and whether it is one of the fixed keys; undefined when no key was presented.
 * Remembered because the digest cost ~4 µs a request in the service, and reading the key out of
 * the header ~0.3 µs more.
 */
function keyDigestOf(
  fixedKeyOf: (digestBytes: Buffer) => Principal | undefined,
): (headers: CredentialHeaders) => KeyDigest | undefined {
  return (headers) => {
    const presented = presentedKey(headers);
    if (presented === undefined) return undefined;
    const digestHex = digestKey(presented);
    return {
      digestHex,
      fixed: fixedKeyOf(Buffer.from(digestHex, "hex")),
      presentedKeys: readPresentedKeys(headers),
    };
  };
}

function presentedKey({ authorization, apiKey }: CredentialHeaders): string | undefined {
  if (authorization !== undefined) {
    const bearer = BEARER.exec(authorization);
    if (bearer !== null) return authorization.slice(bearer[0].length).trim();
  }
  return apiKey !== undefined && apiKey.length > 0 ? apiKey : undefined;
}

/** SHA-256, as `digestKey` stores virtual keys (here as bytes, for `timingSafeEqual`). */
function digest(value: string): Buffer {
  return Buffer.from(digestKey(value), "hex");
}
