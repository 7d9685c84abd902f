import assert from "node:assert/strict";
import { test } from "node:test";
import { ErrorCodes } from "../../src/errors/error-codes.ts";
import { buildTestApp } from "../support/build-test-app.ts";
import { addTestRoutes } from "../support/test-routes.ts";

async function appWithTestRoutes(t: { after: (fn: () => unknown) => void }, environment = {}) {
  const built = await buildTestApp({ extend: addTestRoutes, environment });
  t.after(() => built.app.close());
  return built;
}

function assertEnvelope(body: unknown, code: string, requestId: string) {
  const error = (body as { error: Record<string, unknown> }).error;
  assert.deepEqual(Object.keys(error).sort(), ["code", "message", "request_id"]);
  assert.equal(error.code, code);
  assert.equal(error.request_id, requestId);
  assert.equal(typeof error.message, "string");
  assert.ok((error.message as string).length > 0);
}

test("invalid JSON is a 400 INVALID_JSON", async (t) => {
  const { app } = await appWithTestRoutes(t);
  const response = await app.inject({
    method: "POST",
    url: "/test/echo",
    headers: { "content-type": "application/json" },
    payload: '{"name": ',
  });
  assert.equal(response.statusCode, 400);
  assertEnvelope(response.json(), "INVALID_JSON", String(response.headers["x-request-id"]));
});

test("a schema violation is a 400 that names the field", async (t) => {
  const { app } = await appWithTestRoutes(t);
  const wrongType = await app.inject({ method: "POST", url: "/test/echo", payload: { name: 42 } });
  assert.equal(wrongType.statusCode, 400);
  assertEnvelope(wrongType.json(), "VALIDATION_FAILED", String(wrongType.headers["x-request-id"]));
  assert.match(wrongType.json().error.message, /body\.name/);

  const missing = await app.inject({ method: "POST", url: "/test/echo", payload: { count: 1 } });
  assert.equal(missing.statusCode, 400);
  assert.match(missing.json().error.message, /body\.name is required/);

  // Bodies are not coerced: a number where a string belongs is refused, not turned into "42".
  const tooLong = await app.inject({ method: "POST", url: "/test/echo", payload: { name: "x".repeat(11) } });
  assert.equal(tooLong.statusCode, 400);
  assert.match(tooLong.json().error.message, /body\.name/);

  const valid = await app.inject({ method: "POST", url: "/test/echo", payload: { name: "ok", count: 2 } });
  assert.equal(valid.statusCode, 200);
  assert.deepEqual(valid.json(), { received: { name: "ok", count: 2 } });
});

test("a body over BODY_LIMIT_BYTES is a 413 BODY_TOO_LARGE", async (t) => {
  const { app } = await appWithTestRoutes(t, { BODY_LIMIT_BYTES: "2048" });
  const response = await app.inject({
    method: "POST",
    url: "/test/echo",
    payload: { name: "x".repeat(4096) },
  });
  assert.equal(response.statusCode, 413);
  assertEnvelope(response.json(), "BODY_TOO_LARGE", String(response.headers["x-request-id"]));
});

test("an unknown route is a 404 NOT_FOUND", async (t) => {
  const { app } = await appWithTestRoutes(t);
  const response = await app.inject({ method: "GET", url: "/does/not/exist?x=1" });
  assert.equal(response.statusCode, 404);
  assertEnvelope(response.json(), "NOT_FOUND", String(response.headers["x-request-id"]));
});

test("an unexpected failure is a 500 with no internals in the body, and the detail in the log", async (t) => {
  const { app, logs } = await appWithTestRoutes(t);
  const response = await app.inject({ method: "GET", url: "/test/boom" });
  assert.equal(response.statusCode, 500);
  assertEnvelope(response.json(), "INTERNAL_ERROR", String(response.headers["x-request-id"]));
  assert.equal(response.json().error.message, "Internal server error.");
  assert.ok(!response.body.includes("hunter2") && !response.body.includes("/srv/internal"));
  const failure = logs.lines().find((line) => line.msg === "request failed");
  assert.ok(failure, "the failure is logged");
  assert.match(JSON.stringify(failure.err), /hunter2/);
  assert.equal(failure.request_id, response.headers["x-request-id"]);
});

test("prototype poisoning in a body is refused with a 400", async (t) => {
  const { app } = await appWithTestRoutes(t);
  const response = await app.inject({
    method: "POST",
    url: "/test/echo",
    headers: { "content-type": "application/json" },
    payload: '{"name": "a", "__proto__": {"polluted": true}}',
  });
  assert.equal(response.statusCode, 400);
  assertEnvelope(response.json(), "INVALID_JSON", String(response.headers["x-request-id"]));
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test("a body that is not JSON is a 415 UNSUPPORTED_MEDIA_TYPE", async (t) => {
  const { app } = await appWithTestRoutes(t);
  const response = await app.inject({
    method: "POST",
    url: "/test/echo",
    headers: { "content-type": "application/xml" },
    payload: "<name>a</name>",
  });
  assert.equal(response.statusCode, 415);
  assertEnvelope(response.json(), "UNSUPPORTED_MEDIA_TYPE", String(response.headers["x-request-id"]));
});

test("errors under /v1 use OpenAI's error shape", async (t) => {
  const { app } = await appWithTestRoutes(t);
  const notFound = await app.inject({ method: "GET", url: "/v1/nothing" });
  assert.equal(notFound.statusCode, 404);
  assert.deepEqual(Object.keys(notFound.json().error).sort(), ["code", "message", "param", "type"]);
  assert.equal(notFound.json().error.type, "invalid_request_error");
  assert.equal(notFound.json().error.code, "not_found");

  const failure = await app.inject({ method: "POST", url: "/v1/test/boom" });
  assert.equal(failure.statusCode, 500);
  assert.equal(failure.json().error.type, "api_error");
  assert.ok(!failure.body.includes("internal detail"));
});

test("every catalogued code has an HTTP error status", () => {
  for (const [code, entry] of Object.entries(ErrorCodes)) {
    assert.ok(entry.statusCode >= 400 && entry.statusCode < 600, code);
  }
});
