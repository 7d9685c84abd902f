import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";

/** What a client may send as its own request id; anything else is replaced, never echoed. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** Fastify's `genReqId`: keep the client's `x-request-id` when it is safe, else make a UUID. */
export function requestIdFor(message: IncomingMessage): string {
  const supplied = message.headers["x-request-id"];
  if (typeof supplied === "string" && SAFE_REQUEST_ID.test(supplied)) return supplied;
  return randomUUID();
}
