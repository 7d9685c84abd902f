import assert from "node:assert/strict";
import { test } from "node:test";
import type { FastifyRequest } from "fastify";
import { Pool } from "undici";
import { refuseKeyAsModel } from "../../src/http/redact-secrets.ts";
import { buildTestApp } from "../support/build-test-app.ts";

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

test("on one kept-alive connection, each request's own presented key is what its model is checked against", async (t) => {
  // Open mode: any Authorization passes, so a key only the request holds is the only thing to catch.
  const { app } = await buildTestApp({ environment: { ECHO_DELAY_MS: "0" } });
  t.after(() => app.close());
  const address = await app.listen({ port: 0, host: "127.0.0.1" });
  const connection = new Pool(address, { connections: 1, pipelining: 1 });
  t.after(() => connection.close());
  const chat = async (key: string, model: string) => {
    const response = await connection.request({
      method: "POST",
      path: "/chat",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ message: "hi", model }),
    });
    const body = (await response.body.json()) as { error?: { code?: string } };
    return { status: response.statusCode, code: body.error?.code };
  };
  const other = "another-plain-secret-4567";
  assert.equal((await chat(PRESENTED, "echo")).status, 200);
  assert.deepEqual(await chat(PRESENTED, PRESENTED), { status: 400, code: "VALIDATION_FAILED" });
  assert.deepEqual(
    await chat(other, other),
    { status: 400, code: "VALIDATION_FAILED" },
    "the next request's key, not the one remembered from the last",
  );
  assert.equal(connection.stats.connected, 1, "every request went over the one connection");
});

test("with keys required, a model named by any key the request carries is refused, the one authentication used or not", async (t) => {
  const valid = "fixed-list-key-0123456789";
  const { app } = await buildTestApp({ environment: { ECHO_DELAY_MS: "0", API_KEYS: valid } });
  t.after(() => app.close());
  const chat = async (headers: Record<string, string>, model: string) => {
    const response = await app.inject({
      method: "POST",
      url: "/chat",
      headers: { ...headers, "content-type": "application/json" },
      payload: JSON.stringify({ message: "hi", model }),
    });
    return {
      status: response.statusCode,
      code: (response.json() as { error?: { code?: string } }).error?.code,
    };
  };
  // The bearer token authenticates; x-api-key is a second key the client sent along, in no configuration.
  const headers = { authorization: `Bearer ${valid}`, "x-api-key": PRESENTED };
  assert.equal((await chat(headers, "echo")).status, 200);
  assert.deepEqual(await chat(headers, PRESENTED), { status: 400, code: "VALIDATION_FAILED" });
});
