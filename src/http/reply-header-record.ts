import { createRequire } from "node:module";
import type { FastifyReply } from "fastify";

/** A reply's headers as Fastify keeps them: lowercase names. */
export type HeaderRecord = Record<string, string | number | string[] | undefined>;

// Fastify's own symbols: a module with no types, outside Fastify's documented API. The version is
// pinned in package.json, and test/http/reply-header-record.test.ts fails when an upgrade moves
// the record; the check below stops the service at start when the symbol is gone.
const { kReplyHeaders } = createRequire(import.meta.url)("fastify/lib/symbols.js") as {
  kReplyHeaders?: unknown;
};
if (typeof kReplyHeaders !== "symbol") {
  throw new Error(
    "fastify/lib/symbols.js has no kReplyHeaders: this Fastify keeps a reply's headers elsewhere",
  );
}
const recordSymbol: symbol = kReplyHeaders;

/**
 * The object Fastify keeps a reply's headers in, and hands as it is to Node's `writeHead` (and to
 * `reply.getHeaders()`, which the streamed answers send). A header stored in it with a lowercase
 * name is sent exactly as `reply.header(name, value)` would send it.
 *
 * Why not `reply.header`: it lowercases the name and stores it with a key that changes from call
 * to call, and V8 adds each new property through its runtime. Under callgrind the six rate-limit
 * headers of a keyed answer cost ~15,000 instructions more that way than as six stores with literal
 * names into this object (README, "2026-12-07"). The security headers of every answer are copied
 * in the same way; everything else keeps using `reply.header`.
 */
export function replyHeaderRecord(reply: FastifyReply): HeaderRecord {
  return (reply as unknown as Record<symbol, HeaderRecord>)[recordSymbol];
}
