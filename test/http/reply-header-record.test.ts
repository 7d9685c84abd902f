import assert from "node:assert/strict";
import type { OutgoingHttpHeaders } from "node:http";
import { test } from "node:test";
import Fastify from "fastify";
import { replyHeaderRecord } from "../../src/http/reply-header-record.ts";

// The record is Fastify's own, reached through one of its internal symbols: these fail when an
// upgrade of Fastify keeps a reply's headers anywhere else.
test("a header stored in the reply's record is the reply's header: on the answer and to getHeader", async (t) => {
  const app = Fastify();
  t.after(() => app.close());
  app.get("/", (_request, reply) => {
    reply.header("x-set-by-fastify", "one");
    const record = replyHeaderRecord(reply);
    assert.equal(record["x-set-by-fastify"], "one", "the record holds what reply.header set");
    record["x-ratelimit-remaining-requests"] = "41";
    assert.equal(reply.getHeader("x-ratelimit-remaining-requests"), "41");
    return { ok: true };
  });
  const response = await app.inject({ method: "GET", url: "/" });
  assert.equal(response.statusCode, 200);
  assert.equal(response.headers["x-ratelimit-remaining-requests"], "41");
  assert.equal(response.headers["x-set-by-fastify"], "one");
});

test("a streamed answer, written through Node's response with reply.getHeaders(), carries the record's headers", async (t) => {
  const app = Fastify();
  t.after(() => app.close());
  app.get("/stream", (_request, reply) => {
    replyHeaderRecord(reply)["x-ratelimit-limit-tokens"] = "1000";
    reply.hijack();
    reply.raw.writeHead(200, {
      ...(reply.getHeaders() as OutgoingHttpHeaders),
      "content-type": "text/plain",
    });
    reply.raw.end("streamed");
  });
  const response = await app.inject({ method: "GET", url: "/stream" });
  assert.equal(response.body, "streamed");
  assert.equal(response.headers["x-ratelimit-limit-tokens"], "1000");
});
