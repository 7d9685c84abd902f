import type { FastifyRequest } from "fastify";
import { sameSecret } from "../access/key-digest.ts";

/** The two headers a key can come in, as the client sent them (a repeated one counts as absent). */
export type CredentialHeaders = Readonly<{ authorization: string | undefined; apiKey: string | undefined }>;

export function credentialHeaders(request: FastifyRequest): CredentialHeaders {
  return {
    authorization: singleHeader(request.headers.authorization),
    apiKey: singleHeader(request.headers["x-api-key"]),
  };
}

/**
 * Whether a request sent the same credential headers as an earlier one on its connection,
 * compared in constant time: what a connection remembers about the last key it was sent is
 * reused only on a match, and a connection shared by several clients (a proxy's pool) tells none
 * of them anything about another's key.
 */
export function sameCredentialHeaders(left: CredentialHeaders, right: CredentialHeaders): boolean {
  return sameHeader(left.authorization, right.authorization) && sameHeader(left.apiKey, right.apiKey);
}

const singleHeader = (value: string | string[] | undefined): string | undefined =>
  typeof value === "string" ? value : undefined;

const sameHeader = (left: string | undefined, right: string | undefined): boolean =>
  left === undefined || right === undefined ? left === right : sameSecret(left, right);
