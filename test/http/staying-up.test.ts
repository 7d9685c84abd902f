import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { test } from "node:test";
import { buildTestApp } from "../support/build-test-app.ts";
import { waitFor } from "../support/wait-for.ts";

test("an event loop blocked for 1.5 s gives 503 with Retry-After on an API route while /health answers", async (t) => {
  const { app } = await buildTestApp({ environment: { MAX_EVENT_LOOP_UTILIZATION: "0.9" } });
  t.after(() => app.close());
  assert.equal((await app.inject({ method: "GET", url: "/v1/models" })).statusCode, 200);

  const blockedUntil = Date.now() + 1500;
  while (Date.now() < blockedUntil) {
    // Busy: nothing else runs on the loop.
  }
  const shed = await waitFor(
    "an API route to be shed",
    async () => {
      const response = await app.inject({ method: "GET", url: "/v1/models" });
      return response.statusCode === 503 ? response : undefined;
    },
    { timeoutMs: 3000, intervalMs: 20 },
  );
  assert.ok(Number(shed.headers["retry-after"]) >= 1);
  assert.equal(shed.json().error.code, "overloaded");
  const health = await app.inject({ method: "GET", url: "/health" });
  assert.equal(health.statusCode, 200, "/health keeps answering");
  assert.deepEqual(health.json(), { status: "ok" });
  const chat = await app.inject({ method: "POST", url: "/chat", payload: { message: "hi" } });
  assert.equal(chat.statusCode, 503);
  assert.equal(chat.json().error.code, "OVERLOADED");

  await waitFor(
    "the instance to serve again",
    async () => (await app.inject({ method: "GET", url: "/v1/models" })).statusCode === 200,
    {
      timeoutMs: 5000,
    },
  );
});

test("past the memory thresholds API routes are shed; without thresholds nothing is", async (t) => {
  for (const threshold of ["MAX_RSS_BYTES", "MAX_HEAP_USED_BYTES"]) {
    // One byte: every sample is past it.
    const { app } = await buildTestApp({ environment: { [threshold]: "1" } });
    t.after(() => app.close());
    const shed = await waitFor(
      `${threshold} to shed an API route`,
      async () => {
        const response = await app.inject({ method: "POST", url: "/chat", payload: { message: "hi" } });
        return response.statusCode === 503 ? response : undefined;
      },
      { timeoutMs: 3000, intervalMs: 50 },
    );
    assert.equal(shed.json().error.code, "OVERLOADED", threshold);
    assert.equal((await app.inject({ method: "GET", url: "/health" })).statusCode, 200);
  }
  const { app } = await buildTestApp({});
  t.after(() => app.close());
  // Two samples later, an unloaded instance with the default thresholds still serves.
  await new Promise((resolve) => setTimeout(resolve, 2100));
  const served = await app.inject({ method: "POST", url: "/chat", payload: { message: "hi" } });
  assert.equal(served.statusCode, 200);
});

test("with every threshold off the load is not sampled at all, and nothing is shed", async (t) => {
  const { app: sampled } = await buildTestApp({});
  t.after(() => sampled.close());
  // The default event-loop delay threshold needs the sampler.
  assert.equal(sampled.hasDecorator("memoryUsage"), true);

  const { app } = await buildTestApp({ environment: { MAX_EVENT_LOOP_DELAY_MS: "0" } });
  t.after(() => app.close());
  assert.equal(app.hasDecorator("memoryUsage"), false, "no sampler runs when no threshold reads it");
  const blockedUntil = Date.now() + 1200;
  while (Date.now() < blockedUntil) {
    // Busy: a sampler, were there one, would see a loaded loop.
  }
  const served = await app.inject({ method: "POST", url: "/chat", payload: { message: "hi" } });
  assert.equal(served.statusCode, 200);
});

test("CORS answers only the allowed origins; preflights need no key; other origins get nothing reflected", async (t) => {
  const { app } = await buildTestApp({
    environment: {
      CORS_ORIGINS: "https://app.example.com, http://localhost:5173",
      API_KEYS: "cors-test-key-0123456789",
    },
  });
  t.after(() => app.close());

  const allowed = await app.inject({
    method: "GET",
    url: "/v1/models",
    headers: { origin: "https://app.example.com", authorization: "Bearer cors-test-key-0123456789" },
  });
  assert.equal(allowed.statusCode, 200);
  assert.equal(allowed.headers["access-control-allow-origin"], "https://app.example.com");
  assert.match(String(allowed.headers["access-control-expose-headers"]), /x-ratelimit-remaining-requests/);

  const preflight = await app.inject({
    method: "OPTIONS",
    url: "/v1/chat/completions",
    headers: {
      origin: "http://localhost:5173",
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization, content-type",
    },
  });
  assert.equal(preflight.statusCode, 204);
  assert.equal(preflight.headers["access-control-allow-origin"], "http://localhost:5173");
  assert.match(String(preflight.headers["access-control-allow-headers"]), /authorization/);

  for (const origin of ["https://evil.example.com", "https://app.example.com.evil.com", "null"]) {
    const refused = await app.inject({
      method: "GET",
      url: "/v1/models",
      headers: { origin, authorization: "Bearer cors-test-key-0123456789" },
    });
    assert.equal(refused.headers["access-control-allow-origin"], undefined, origin);
    assert.ok(!JSON.stringify(refused.headers).includes(origin), `${origin} is not reflected`);
    const refusedPreflight = await app.inject({
      method: "OPTIONS",
      url: "/chat",
      headers: { origin, "access-control-request-method": "POST" },
    });
    assert.equal(refusedPreflight.headers["access-control-allow-origin"], undefined, origin);
  }
});

test("security headers on every response, with a CSP that allows same-origin scripts and no inline script; /docs works", async (t) => {
  const { app } = await buildTestApp({ environment: { API_KEYS: "headers-test-key-0123456789" } });
  t.after(() => app.close());
  const key = { authorization: "Bearer headers-test-key-0123456789" };
  const responses = [
    await app.inject({ method: "GET", url: "/health" }),
    await app.inject({ method: "GET", url: "/v1/models" }),
    await app.inject({ method: "GET", url: "/nowhere", headers: key }),
    await app.inject({ method: "POST", url: "/chat", headers: key, payload: { message: "hi" } }),
    await app.inject({ method: "POST", url: "/chat/stream", headers: key, payload: { message: "hi" } }),
    await app.inject({ method: "POST", url: "/chat", payload: { message: "hi" } }),
  ];
  assert.deepEqual(
    responses.map((response) => response.statusCode),
    [200, 401, 404, 200, 200, 401],
    "answers, a stream and errors alike",
  );
  for (const response of responses) {
    assert.equal(response.headers["x-content-type-options"], "nosniff");
    assert.ok(response.headers["strict-transport-security"]);
    assert.equal(response.headers["x-frame-options"], "SAMEORIGIN");
    // Read by no browser in use (Internet Explorer 8's, Flash's, and a removed XSS filter's).
    for (const obsolete of ["x-download-options", "x-permitted-cross-domain-policies", "x-xss-protection"]) {
      assert.equal(response.headers[obsolete], undefined, obsolete);
    }
    const csp = String(response.headers["content-security-policy"]);
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.match(csp, /style-src 'self'/);
  }
  const docs = await app.inject({ method: "GET", url: "/docs/", headers: key });
  assert.equal(docs.statusCode, 200);
  const html = docs.body;
  const csp = String(docs.headers["content-security-policy"]);
  // Every script of the page is same-origin, which its policy allows; it has no inline script.
  const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
  assert.ok(scripts.length > 0);
  for (const [, attributes, body] of scripts) {
    assert.match(attributes, /src="\.?\/?[^":]*"/, "a same-origin src");
    assert.equal(body.trim(), "");
  }
  assert.match(csp, /script-src 'self'/);
  const bundle = await app.inject({ method: "GET", url: "/docs/static/swagger-ui-bundle.js", headers: key });
  assert.equal(bundle.statusCode, 200);
});

test("200 sockets dripping header bytes are closed within the header timeout; normal requests pass meanwhile", async (t) => {
  const { app } = await buildTestApp({
    environment: { HEADERS_TIMEOUT_MS: "1000", REQUEST_TIMEOUT_MS: "2000" },
  });
  t.after(() => app.close());
  const address = await app.listen({ port: 0, host: "127.0.0.1" });
  const { port } = new URL(address);

  const sockets: Socket[] = [];
  const closedAt: number[] = [];
  const startedAt = Date.now();
  for (let index = 0; index < 200; index += 1) {
    const socket = connect(Number(port), "127.0.0.1");
    socket.on("error", () => {});
    socket.on("close", () => closedAt.push(Date.now() - startedAt));
    await once(socket, "connect");
    // It never reads, as a slow-loris client does not.
    socket.write("GET /health HTTP/1.1\r\nHost: x\r\n");
    sockets.push(socket);
  }
  const drip = setInterval(() => {
    for (const socket of sockets) if (!socket.destroyed) socket.write("x-drip: 1\r\n");
  }, 200);
  t.after(() => {
    clearInterval(drip);
    for (const socket of sockets) socket.destroy();
  });

  for (let index = 0; index < 10; index += 1) {
    const response = await fetch(`${address}/health`);
    assert.equal(response.status, 200, "a normal request passes while the drippers hang on");
    await response.arrayBuffer();
  }
  await waitFor("every dripping socket to be closed", () => closedAt.length === 200, { timeoutMs: 5000 });
  clearInterval(drip);
  const latest = Math.max(...closedAt);
  // The header timeout (1 s) is checked every 500 ms: each socket goes within 1.5 s, plus slack for a loaded machine.
  assert.ok(latest < 2500, `the last dripping socket closed after ${latest} ms`);
});

test("an empty or whitespace-only chat message is a 400 naming the field, on every chat endpoint", async (t) => {
  const { app } = await buildTestApp({ environment: { ECHO_DELAY_MS: "0" } });
  t.after(() => app.close());
  const cases: [string, unknown, string][] = [
    ["/chat", { message: "" }, "message"],
    ["/chat", { message: "  \n\t" }, "message"],
    ["/chat/stream", { message: " " }, "message"],
    ["/chat/stream-text", { message: "\u00a0 " }, "message"],
    ["/chat", { message: "hi", system: "   " }, "system"],
    [
      "/chat",
      {
        messages: [
          { role: "user", content: "ok" },
          { role: "user", content: " " },
        ],
      },
      "messages.1.content",
    ],
    [
      "/v1/chat/completions",
      { model: "echo", messages: [{ role: "user", content: "" }] },
      "messages.0.content",
    ],
    [
      "/v1/chat/completions",
      {
        model: "echo",
        stream: true,
        messages: [
          { role: "system", content: "x" },
          { role: "user", content: [{ type: "text", text: "  " }] },
        ],
      },
      "messages.1.content",
    ],
  ];
  for (const [url, payload, field] of cases) {
    const response = await app.inject({ method: "POST", url, payload: payload as object });
    assert.equal(response.statusCode, 400, `${url} ${JSON.stringify(payload)}`);
    const error = response.json().error;
    if (url.startsWith("/v1/")) assert.equal(error.param, field);
    assert.match(error.message, new RegExp(field.replaceAll(".", "\\.")));
  }
  const fine = await app.inject({ method: "POST", url: "/chat", payload: { message: " hi " } });
  assert.equal(fine.statusCode, 200);
});
