import assert from "node:assert/strict";
import { test } from "node:test";
import { Lifecycle } from "../../src/lifecycle.ts";
import { buildTestApp } from "../support/build-test-app.ts";

test("GET / says the service is running", async (t) => {
  const { app } = await buildTestApp();
  t.after(() => app.close());
  const response = await app.inject({ method: "GET", url: "/" });
  assert.equal(response.statusCode, 200);
  assert.equal(response.json().message, "LLM API Service is running");
});

test("GET /health answers ok", async (t) => {
  const { app } = await buildTestApp();
  t.after(() => app.close());
  const response = await app.inject({ method: "GET", url: "/health" });
  assert.equal(response.statusCode, 200);
  assert.deepEqual(response.json(), { status: "ok" });
});

test("GET /ready is 200 once ready and 503 while draining", async (t) => {
  const lifecycle = new Lifecycle();
  assert.equal(lifecycle.state, "starting");
  const { app } = await buildTestApp({ lifecycle });
  t.after(() => app.close());
  const ready = await app.inject({ method: "GET", url: "/ready" });
  assert.equal(ready.statusCode, 200);
  assert.deepEqual(ready.json(), { status: "ready" });

  lifecycle.startDraining();
  const draining = await app.inject({ method: "GET", url: "/ready" });
  assert.equal(draining.statusCode, 503);
  assert.deepEqual(draining.json(), { status: "draining" });
  // Liveness stays green while draining: the process is fine, it is just leaving.
  assert.equal((await app.inject({ method: "GET", url: "/health" })).statusCode, 200);
});

test("GET /ready is 503 naming a dependency whose check fails", async (t) => {
  const lifecycle = new Lifecycle();
  let healthy = true;
  lifecycle.addReadinessCheck("queue", () => {
    if (!healthy) throw new Error("connection refused");
  });
  const { app } = await buildTestApp({ lifecycle });
  t.after(() => app.close());
  assert.equal((await app.inject({ method: "GET", url: "/ready" })).statusCode, 200);
  healthy = false;
  const response = await app.inject({ method: "GET", url: "/ready" });
  assert.equal(response.statusCode, 503);
  assert.deepEqual(response.json(), { status: "not_ready", failing: ["queue"] });
});

test("GET /ready names a check that hangs past its deadline, and probes meanwhile share that one check", {
  timeout: 10_000,
}, async (t) => {
  const lifecycle = new Lifecycle({ checkTimeoutMs: 300 });
  const { app } = await buildTestApp({ lifecycle });
  t.after(() => app.close());
  // A first probe while every dependency answers (its first check warms the store's threads up).
  assert.equal((await app.inject({ method: "GET", url: "/ready" })).statusCode, 200);
  let started = 0;
  const hung = Promise.withResolvers<void>();
  lifecycle.addReadinessCheck("queue", () => {
    started += 1;
    return hung.promise;
  });
  lifecycle.addReadinessCheck("store", () => {});
  for (let probe = 0; probe < 3; probe += 1) {
    const startedAt = performance.now();
    const response = await app.inject({ method: "GET", url: "/ready" });
    const elapsedMs = performance.now() - startedAt;
    assert.equal(response.statusCode, 503);
    const body = response.json() as { status: string; failing: string[] };
    assert.equal(body.status, "not_ready");
    assert.ok(body.failing.includes("queue") && !body.failing.includes("store"), body.failing.join());
    assert.ok(elapsedMs >= 250 && elapsedMs < 1500, `answered after ${elapsedMs.toFixed(0)} ms`);
  }
  assert.equal(started, 1, "one pending check, not one per probe");
  // Once it answers, the instance is ready again, and a later probe runs a fresh check.
  hung.resolve();
  assert.equal((await app.inject({ method: "GET", url: "/ready" })).statusCode, 200);
  assert.equal((await app.inject({ method: "GET", url: "/ready" })).statusCode, 200);
  assert.equal(started, 2);
});

test("a request that arrives while draining is refused with 503 and Connection: close", async (t) => {
  const lifecycle = new Lifecycle();
  const { app } = await buildTestApp({ lifecycle });
  t.after(() => app.close());
  lifecycle.startDraining();
  const response = await app.inject({ method: "GET", url: "/" });
  assert.equal(response.statusCode, 503);
  assert.equal(response.headers.connection, "close");
  assert.equal(response.headers["retry-after"], "1");
  assert.equal(response.json().error.code, "SHUTTING_DOWN");
});

test("GET /openapi.json documents the routes and /docs serves the UI", async (t) => {
  const { app } = await buildTestApp();
  t.after(() => app.close());
  const document = (await app.inject({ method: "GET", url: "/openapi.json" })).json();
  assert.equal(document.openapi, "3.1.0");
  for (const route of ["/", "/health", "/ready"]) assert.ok(document.paths[route], `${route} is documented`);
  assert.equal(
    document.paths["/health"].get.responses["200"].content["application/json"].schema.type,
    "object",
  );

  const docs = await app.inject({ method: "GET", url: "/docs/" });
  assert.equal(docs.statusCode, 200);
  assert.match(docs.headers["content-type"] as string, /text\/html/);
  assert.match(docs.body, /swagger/i);
});
