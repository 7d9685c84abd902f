import assert from "node:assert/strict";
import { test } from "node:test";
import type { FastifyRequest } from "fastify";
import { refuseKeyAsModel } from "../../src/http/redact-secrets.ts";

/** A request as refuseKeyAsModel reads it: its headers, and a server without a config. */
const requestWith = (headers: Record<string, string>) =>
  ({ headers, server: {} }) as unknown as FastifyRequest;

// Not shaped like `sk-…` and in no configuration: only the request's own key can name it a secret.
const PRESENTED = "plain-presented-secret-0123";

test("a model named by the key the request presented, as a bearer token or x-api-key, is refused", () => {
  const presentations: Record<string, string>[] = [
    { authorization: `Bearer ${PRESENTED}` },
    { "x-api-key": PRESENTED },
  ];
  for (const headers of presentations) {
    assert.throws(
      () => refuseKeyAsModel(requestWith(headers), PRESENTED),
      (error: { code?: string; param?: string }) =>
        error.code === "VALIDATION_FAILED" && error.param === "model",
    );
    assert.throws(() => refuseKeyAsModel(requestWith(headers), `openai:${PRESENTED}`));
  }
});

test("a model name that holds no presented key passes, and a short key matches only the whole name", () => {
  refuseKeyAsModel(requestWith({ authorization: `Bearer ${PRESENTED}` }), "openai:gpt-4o-mini");
  refuseKeyAsModel(requestWith({ authorization: "Bearer echo-key" }), "echo-key-model");
  assert.throws(() => refuseKeyAsModel(requestWith({ authorization: "Bearer echo-key" }), "echo-key"));
});
