import type { Socket } from "node:net";
import type { FastifyRequest } from "fastify";
import { type HeldSecret, holdSecret, matchesHeldSecret } from "../access/held-secret.ts";

/** The two headers a key can come in, as the client sent them (a repeated one counts as absent). */
export type CredentialHeaders = Readonly<{ authorization: string | undefined; apiKey: string | undefined }>;

/** The headers a connection sent last, each held for constant-time comparisons, and what they came to. */
type Remembered<Value> = Readonly<{
  authorization: HeldSecret | undefined;
  apiKey: HeldSecret | undefined;
  value: Value;
}>;

/**
 * What `derive` makes of the request's credential headers, remembered on the connection under
 * `slot` for its next request: a kept-alive client sends the same headers every time, and reading
 * a key out of them (a regular expression, a trim, a digest) runs on every request. The headers
 * are compared with the remembered ones in constant time, so a connection shared by several
 * clients (a proxy's pool) tells none of them anything about another's key. A connection holds
 * only what it was last sent, as its parser's buffers do.
 */
export function fromCredentialHeaders<Value>(
  request: FastifyRequest,
  slot: symbol,
  derive: (headers: CredentialHeaders) => Value,
): Value {
  const authorization = singleHeader(request.headers.authorization);
  const apiKey = singleHeader(request.headers["x-api-key"]);
  const socket = request.raw?.socket as (Socket & Record<symbol, Remembered<Value> | undefined>) | undefined;
  const last = socket?.[slot];
  // Compared before any object is built: the same headers again, the usual case, build none.
  if (last !== undefined && sameValue(authorization, last.authorization) && sameValue(apiKey, last.apiKey)) {
    return last.value;
  }
  const headers: CredentialHeaders = { authorization, apiKey };
  const value = derive(headers);
  // `inject` requests have a stand-in socket; a real one is a net.Socket that outlives the request.
  if (socket !== undefined && socket !== null) {
    socket[slot] = { authorization: held(authorization), apiKey: held(apiKey), value };
  }
  return value;
}

const singleHeader = (value: string | string[] | undefined): string | undefined =>
  typeof value === "string" ? value : undefined;

const held = (value: string | undefined): HeldSecret | undefined =>
  value === undefined ? undefined : holdSecret(value);

const sameValue = (value: string | undefined, last: HeldSecret | undefined): boolean =>
  value === undefined || last === undefined
    ? value === undefined && last === undefined
    : matchesHeldSecret(value, last);
