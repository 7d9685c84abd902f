// Names and identifiers a client chooses go into headers, log lines, metric labels and database
// columns. One with a NUL or an unpaired surrogate is a 400 naming its field, whatever the store,
// never a 500 nor a silently shortened value.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ADMIN_KEY as ADMIN } from "../support/access-test-app.ts";
import { buildTestApp } from "../support/build-test-app.ts";
import { privateDatabaseUrl } from "../support/require-postgres.ts";

const NOT_PRINTABLE = ["a\u0000b", "\ud800", "line\nbreak", "\u001b[31m"];

const MODEL_ROUTES: { url: string; body: (model: string) => Record<string, unknown> }[] = [
  { url: "/chat", body: (model) => ({ message: "hi", model }) },
  { url: "/chat/stream", body: (model) => ({ message: "hi", model }) },
  { url: "/chat/stream-text", body: (model) => ({ message: "hi", model }) },
  { url: "/v1/chat/completions", body: (model) => ({ model, messages: [{ role: "user", content: "hi" }] }) },
  {
    url: "/v1/messages",
    body: (model) => ({ model, max_tokens: 16, messages: [{ role: "user", content: "hi" }] }),
  },
  {
    url: "/v1/messages/count_tokens",
    body: (model) => ({ model, messages: [{ role: "user", content: "hi" }] }),
  },
  { url: "/v1/embeddings", body: (model) => ({ model, input: "hi" }) },
];

test("a model name holding a control character or an unpaired surrogate is a 400 about the model on every model route", async (t) => {
  const { app } = await buildTestApp({ environment: { ECHO_DELAY_MS: "0", LOG_LEVEL: "silent" } });
  t.after(() => app.close());
  for (const route of MODEL_ROUTES) {
    for (const model of ["echo:a\u0000b", "echo:\ud800", "\ud800", "echo:tab\there"]) {
      const response = await app.inject({ method: "POST", url: route.url, payload: route.body(model) });
      assert.equal(response.statusCode, 400, `${route.url} ${JSON.stringify(model)}: ${response.body}`);
      assert.match(response.body, /model name must be printable text/, route.url);
    }
    // Letters beyond ASCII are printable: such a name reaches the model as it was sent (the echo
    // provider has no token counting, which is the only thing count_tokens may then refuse).
    const response = await app.inject({
      method: "POST",
      url: route.url,
      payload: route.body("echo:modèle-𝕏"),
    });
    if (route.url.endsWith("/count_tokens")) assert.match(response.body, /no token-counting endpoint/);
    else assert.ok(response.statusCode < 300, `${route.url}: ${response.statusCode} ${response.body}`);
  }
});

test("with PostgreSQL stores, a key's name and models, an ingest source, and ids in paths and queries must be printable: 400 naming the field", async (t) => {
  const database = await privateDatabaseUrl();
  t.after(database.drop);
  const { app } = await buildTestApp({
    environment: {
      DATABASE_URL: database.url,
      ADMIN_API_KEY: ADMIN,
      ECHO_DELAY_MS: "0",
      LOG_LEVEL: "silent",
    },
  });
  t.after(() => app.close());
  const headers = { authorization: `Bearer ${ADMIN}` };
  const refused = async (
    method: "GET" | "POST" | "PATCH" | "DELETE",
    url: string,
    field: string,
    payload?: Record<string, unknown>,
  ) => {
    const response = await app.inject({
      method,
      url,
      headers,
      ...(payload === undefined ? {} : { payload }),
    });
    assert.equal(response.statusCode, 400, `${method} ${url}: ${response.body}`);
    const body = response.json() as { error: { code: string; message: string } };
    // Under /v1 in OpenAI's shape, with its lower-case codes.
    assert.equal(body.error.code.toUpperCase(), "VALIDATION_FAILED", url);
    assert.match(body.error.message, new RegExp(`^${field} must be printable text`), url);
  };

  for (const text of NOT_PRINTABLE) {
    await refused("POST", "/admin/keys", "body.name", { name: text });
    await refused("POST", "/admin/keys", "body.models.0", { name: "team", models: [`echo:${text}`] });
    await refused("POST", "/ingest", "body.source", { source: `notes${text}.txt`, text: "some words" });
  }
  const created = await app.inject({
    method: "POST",
    url: "/admin/keys",
    headers,
    payload: { name: "équipe 𝕏", models: ["echo:modèle"] },
  });
  assert.equal(created.statusCode, 201, created.body);
  const { id } = created.json() as { id: string };
  await refused("PATCH", `/admin/keys/${id}`, "body.name", { name: "a\u0000b" });
  const kept = (await app.inject({ method: "GET", url: `/admin/keys/${id}`, headers })).json();
  assert.equal(kept.name, "équipe 𝕏", "the name is kept as it was sent");
  assert.deepEqual(kept.models, ["echo:modèle"]);

  await refused("GET", "/admin/keys/a%00b", "params.id");
  await refused("PATCH", "/admin/keys/a%00b", "params.id", { name: "x" });
  await refused("DELETE", "/admin/keys/a%00b", "params.id");
  await refused("GET", "/admin/usage?model=a%00b", "querystring.model");
  await refused("GET", "/admin/usage?key_id=a%00b", "querystring.key_id");
  await refused("GET", "/status/a%00b", "params.job_id");
  await refused("POST", "/jobs/a%00b/cancel", "params.id", {});
  await refused("DELETE", "/knowledge/documents/a%00b", "params.id");
  await refused("GET", "/v1/models/a%00b", "params.model");

  // An id that is printable but unknown is still just not found.
  const unknown = await app.inject({ method: "GET", url: "/admin/keys/key_nope", headers });
  assert.equal(unknown.statusCode, 404);
});
