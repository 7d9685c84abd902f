import assert from "node:assert/strict";
import { once } from "node:events";
import { test } from "node:test";
import { buildTestApp } from "../support/build-test-app.ts";
import { waitFor } from "../support/wait-for.ts";

test("one log line per request with request_id, method, route template, status and duration", async (t) => {
  const { app, logs } = await buildTestApp({
    extend: (instance) => {
      instance.get("/items/:item_id", async () => ({ ok: true }));
    },
  });
  t.after(() => app.close());
  await app.inject({ method: "GET", url: "/items/12345?verbose=1", headers: { "x-request-id": "req-1" } });
  const completed = logs.lines().filter((line) => line.msg === "request completed");
  assert.equal(completed.length, 1);
  const [line] = completed;
  assert.equal(line.request_id, "req-1");
  assert.equal(line.method, "GET");
  assert.equal(line.path, "/items/:item_id", "the route template, not the raw URL");
  assert.equal(line.status, 200);
  assert.equal(typeof line.duration_ms, "number");
});

test("unmatched URLs share one path label", async (t) => {
  const { app, logs } = await buildTestApp();
  t.after(() => app.close());
  await app.inject({ method: "GET", url: "/random/a1" });
  await app.inject({ method: "GET", url: "/random/b2" });
  const paths = logs
    .lines()
    .filter((line) => line.msg === "request completed")
    .map((line) => line.path);
  assert.deepEqual(paths, ["unmatched", "unmatched"]);
});

test("configured secrets are scrubbed from every log line, whatever field carries them", async (t) => {
  const canary = "sk-canary-5f1e2d3c4b5a";
  const { app, logs } = await buildTestApp({
    environment: { OPENAI_API_KEY: canary },
    extend: (instance) => {
      instance.get("/leak", async (request) => {
        request.log.info({ upstreamUrl: `https://user:${canary}@example.test/` }, `calling with ${canary}`);
        throw new Error(`upstream rejected key ${canary}`);
      });
    },
  });
  t.after(() => app.close());
  const response = await app.inject({
    method: "GET",
    url: "/leak",
    headers: { authorization: `Bearer ${canary}`, cookie: `session=${canary}` },
  });
  assert.equal(response.statusCode, 500);
  assert.ok(!response.body.includes(canary));
  assert.ok(logs.raw.length >= 3);
  assert.ok(!logs.text().includes(canary), "the canary never appears in the log");
  assert.match(logs.text(), /\[REDACTED\]/);
});

test("a request the client abandons is still logged, with status 499", async (t) => {
  let started: () => void = () => {};
  const inFlight = new Promise<void>((resolve) => {
    started = resolve;
  });
  const { app, logs } = await buildTestApp({
    extend: (instance) => {
      // Answers only once its client has gone, so the response can never complete.
      instance.get("/test/hang", async (_request, reply) => {
        started();
        await once(reply.raw, "close");
        return reply.send({ late: true });
      });
    },
  });
  t.after(() => app.close());
  const address = await app.listen({ port: 0, host: "127.0.0.1" });
  const controller = new AbortController();
  const pending = fetch(`${address}/test/hang`, {
    headers: { "x-request-id": "gone-1" },
    signal: controller.signal,
  });
  await inFlight;
  controller.abort();
  await assert.rejects(pending);
  const line = await waitFor("the abandoned request's log line", () =>
    logs.lines().find((entry) => entry.request_id === "gone-1" && "status" in entry),
  );
  assert.equal(line.msg, "request abandoned by the client");
  assert.equal(line.status, 499);
  assert.equal(line.path, "/test/hang");
});
