import assert from "node:assert/strict";
import { test } from "node:test";
import { buildTestApp } from "../support/build-test-app.ts";

const KEY = "sk-test-canary-0123456789";

test("with API_KEYS set, requests need a key, given as a bearer token or x-api-key", async (t) => {
  const { app, logs } = await buildTestApp({ environment: { API_KEYS: `other-key-1234,${KEY}` } });
  t.after(() => app.close());

  const missing = await app.inject({ method: "GET", url: "/" });
  assert.equal(missing.statusCode, 401);
  assert.equal(missing.json().error.code, "UNAUTHORIZED");

  const wrong = await app.inject({ method: "GET", url: "/", headers: { authorization: "Bearer nope" } });
  assert.equal(wrong.statusCode, 401);

  const bearer = await app.inject({ method: "GET", url: "/", headers: { authorization: `Bearer ${KEY}` } });
  assert.equal(bearer.statusCode, 200);
  const header = await app.inject({ method: "GET", url: "/", headers: { "x-api-key": KEY } });
  assert.equal(header.statusCode, 200);

  assert.ok(!logs.text().includes(KEY), "the key never reaches the log");
});

test("probes stay open when API_KEYS is set", async (t) => {
  const { app } = await buildTestApp({ environment: { API_KEYS: KEY } });
  t.after(() => app.close());
  assert.equal((await app.inject({ method: "GET", url: "/health" })).statusCode, 200);
  assert.equal((await app.inject({ method: "GET", url: "/ready" })).statusCode, 200);
});

test("without API_KEYS, no key is needed", async (t) => {
  const { app } = await buildTestApp();
  t.after(() => app.close());
  assert.equal((await app.inject({ method: "GET", url: "/" })).statusCode, 200);
});
