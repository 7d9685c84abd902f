import type { FastifyRequest } from "fastify";
import { type Config, configuredSecrets } from "../config.ts";
import { ServiceError } from "../errors/service-error.ts";
import { type CredentialHeaders, fromCredentialHeaders } from "./from-credential-headers.ts";

/** What a virtual key (or an OpenAI-style key) looks like, wherever a client put it. */
const KEY_PATTERN = /sk-[A-Za-z0-9_-]{16,}/g;
/** The same shape, for a yes-or-no test (a `g` expression's `test` keeps state between calls). */
const KEY_SHAPE = new RegExp(KEY_PATTERN.source);
const REDACTED = "[redacted]";

const lastPresentedKeys = Symbol("lastPresentedKeys");

/**
 * The key the request presented, as a bearer token or `x-api-key`. Every model call asks (see
 * `refuseKeyAsModel`): authentication has read them with the key's digest where it read the
 * headers at all, and elsewhere (open mode) the answer is remembered on the connection, as
 * authentication remembers its digest.
 */
function presentedKeys(request: FastifyRequest): readonly string[] {
  return request.presentedKeys ?? fromCredentialHeaders(request, lastPresentedKeys, readPresentedKeys);
}

/** What a bearer token or `x-api-key` holds, each at least 4 characters (shorter ones are no secret). */
export function readPresentedKeys({ authorization, apiKey }: CredentialHeaders): readonly string[] {
  const keys: string[] = [];
  if (authorization !== undefined) {
    const token = authorization.replace(/^\S+\s+/, "").trim();
    if (token.length >= 4) keys.push(token);
  }
  if (apiKey !== undefined && apiKey.length >= 4) keys.push(apiKey);
  return keys;
}

/** The configured secrets (those of a reloaded models file included) and the key this request presented. */
function secretsOf(request: FastifyRequest): string[] {
  const config = (request.server as { config?: Config }).config;
  const configured = config === undefined ? [] : configuredSecrets(config).values;
  return [...configured, ...presentedKeys(request)];
}

/**
 * `text` (an error message that quotes the request: a route, a model name) without any secret:
 * the configured ones, the key this request presented, and anything shaped like a key.
 */
export function redactSecrets(request: FastifyRequest, text: string): string {
  let redacted = text;
  for (const secret of secretsOf(request)) {
    if (redacted.includes(secret)) redacted = redacted.replaceAll(secret, REDACTED);
  }
  return redacted.replace(KEY_PATTERN, REDACTED);
}

/**
 * Below this length a secret is matched only as the whole model name: a short one (a local
 * upstream's `OPENAI_API_KEY=bench`) is a plausible part of a real model name.
 */
const MIN_SECRET_INSIDE_NAME = 12;

/** A credential given as the model would be named in metrics, spans and the ledger: a 400 instead. */
export function refuseKeyAsModel(request: FastifyRequest, modelName: string): void {
  // On every model call: no copy of the secret list, and a regular expression without `g` state.
  const config = (request.server as { config?: Config }).config;
  const holdsSecret =
    (config !== undefined &&
      configuredSecrets(config).values.some((secret) => nameHolds(modelName, secret))) ||
    presentedKeys(request).some((secret) => nameHolds(modelName, secret));
  if (holdsSecret || KEY_SHAPE.test(modelName)) {
    throw new ServiceError({
      code: "VALIDATION_FAILED",
      message: "body.model holds a key, not a model name",
      param: "model",
    });
  }
}

function nameHolds(modelName: string, secret: string): boolean {
  // A name shorter than the secret cannot hold it: the usual case (a key is longer than a model
  // name), decided without a search.
  if (secret.length > modelName.length) return false;
  return modelName === secret || (secret.length >= MIN_SECRET_INSIDE_NAME && modelName.includes(secret));
}
