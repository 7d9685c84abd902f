import assert from "node:assert/strict";
import { test } from "node:test";
import { buildTestApp } from "../support/build-test-app.ts";
import { addTestRoutes } from "../support/test-routes.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** One request per response kind the contract names: 200, 400, 404 and 500. */
const kinds = [
  { name: "200", method: "GET", url: "/health", status: 200 },
  { name: "400", method: "POST", url: "/test/echo", status: 400, payload: { name: 42 } },
  { name: "404", method: "GET", url: "/no/such/route", status: 404 },
  { name: "500", method: "GET", url: "/test/boom", status: 500 },
] as const;

const unsafeIds = {
  "too long": "a".repeat(65),
  "with spaces": "abc def",
  "with quotes": 'abc"def',
  "with markup": "<script>alert(1)</script>",
  empty: "",
};

for (const kind of kinds) {
  test(`a safe client request id is echoed on a ${kind.name}, in the header, the error body and the log`, async (t) => {
    const { app, logs } = await buildTestApp({ extend: addTestRoutes });
    t.after(() => app.close());
    const requestId = "client-id_1.2:3";
    const response = await app.inject({
      method: kind.method,
      url: kind.url,
      headers: { "x-request-id": requestId },
      ...("payload" in kind ? { payload: kind.payload } : {}),
    });
    assert.equal(response.statusCode, kind.status);
    assert.equal(response.headers["x-request-id"], requestId);
    if (kind.status >= 400) assert.equal(response.json().error.request_id, requestId);
    const completed = logs.lines().find((line) => line.msg === "request completed");
    assert.equal(completed?.request_id, requestId);
  });

  test(`a request id is generated on a ${kind.name} when the client sends none`, async (t) => {
    const { app } = await buildTestApp({ extend: addTestRoutes });
    t.after(() => app.close());
    const response = await app.inject({
      method: kind.method,
      url: kind.url,
      ...("payload" in kind ? { payload: kind.payload } : {}),
    });
    assert.equal(response.statusCode, kind.status);
    assert.match(String(response.headers["x-request-id"]), UUID);
  });

  for (const [label, unsafe] of Object.entries(unsafeIds)) {
    test(`an unsafe request id (${label}) is replaced on a ${kind.name}`, async (t) => {
      const { app, logs } = await buildTestApp({ extend: addTestRoutes });
      t.after(() => app.close());
      const response = await app.inject({
        method: kind.method,
        url: kind.url,
        headers: { "x-request-id": unsafe },
        ...("payload" in kind ? { payload: kind.payload } : {}),
      });
      assert.equal(response.statusCode, kind.status);
      const issued = String(response.headers["x-request-id"]);
      assert.match(issued, UUID);
      assert.ok(!response.body.includes(unsafe) || unsafe === "", "the unsafe id is not echoed in the body");
      if (unsafe !== "") assert.ok(!logs.text().includes(unsafe), "the unsafe id is not logged");
    });
  }
}
