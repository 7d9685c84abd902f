import assert from "node:assert/strict";
import { connect } from "node:net";
import { test } from "node:test";
import { buildTestApp } from "../support/build-test-app.ts";

/** Sends raw bytes and answers everything the server wrote back before it closed. */
function rawExchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let answer = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk) => {
      answer += chunk;
    });
    socket.on("end", () => resolve(answer));
    socket.on("error", reject);
    socket.write(request);
  });
}

function parseAnswer(answer: string) {
  const [head, body] = answer.split("\r\n\r\n");
  const [statusLine, ...headerLines] = head.split("\r\n");
  const headers = Object.fromEntries(
    headerLines.map((line) => [
      line.slice(0, line.indexOf(":")).toLowerCase(),
      line.slice(line.indexOf(":") + 1).trim(),
    ]),
  );
  return { status: Number(statusLine.split(" ")[1]), headers, body: JSON.parse(body) };
}

async function listeningApp(t: { after: (callback: () => unknown) => void }) {
  const { app } = await buildTestApp();
  t.after(() => app.close());
  await app.listen({ port: 0, host: "127.0.0.1" });
  const address = app.server.address();
  assert.ok(address !== null && typeof address === "object");
  return address.port;
}

const REQUEST_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

test("a 64 KB header gets 431 with the JSON error body and a request id", async (t) => {
  const port = await listeningApp(t);
  const answer = parseAnswer(
    await rawExchange(port, `GET /health HTTP/1.1\r\nhost: x\r\nx-big: ${"a".repeat(64 * 1024)}\r\n\r\n`),
  );
  assert.equal(answer.status, 431);
  assert.equal(answer.headers["content-type"], "application/json; charset=utf-8");
  assert.match(answer.headers["x-request-id"], REQUEST_ID);
  assert.deepEqual(answer.body, {
    error: {
      code: "HEADERS_TOO_LARGE",
      message: "The request's headers are too large.",
      request_id: answer.headers["x-request-id"],
    },
  });
});

test("a request that is not HTTP gets 400 BAD_REQUEST in the same shape", async (t) => {
  const port = await listeningApp(t);
  const answer = parseAnswer(await rawExchange(port, "NOT HTTP AT ALL\r\n\r\n"));
  assert.equal(answer.status, 400);
  assert.equal(answer.body.error.code, "BAD_REQUEST");
  assert.equal(answer.body.error.request_id, answer.headers["x-request-id"]);
  assert.match(answer.headers["x-request-id"], REQUEST_ID);
});

test("Fastify's router errors: an undecodable URL is 400 and an over-long path parameter 414, with our body", async (t) => {
  const { app } = await buildTestApp();
  t.after(() => app.close());
  const badUrl = await app.inject({
    method: "GET",
    url: "/status/%E0%A4%A",
    headers: { "x-request-id": "mine-1" },
  });
  assert.equal(badUrl.statusCode, 400);
  assert.equal(badUrl.headers["x-request-id"], "mine-1");
  assert.deepEqual(badUrl.json().error.code, "BAD_REQUEST");
  assert.equal(badUrl.json().error.request_id, "mine-1");

  const longParameter = await app.inject({ method: "GET", url: `/status/${"x".repeat(500)}` });
  assert.equal(longParameter.statusCode, 414);
  assert.equal(longParameter.json().error.code, "URI_TOO_LONG");
  assert.equal(longParameter.json().error.request_id, longParameter.headers["x-request-id"]);
});
