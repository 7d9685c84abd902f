// Property-based fuzzing of every route, from the OpenAPI document the service publishes: valid,
// boundary and hostile values, odd headers and content types, with and without keys. The service
// must answer every request with a status below 500 and stay up.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { type TestContext, test } from "node:test";
import fc from "fast-check";
import { BullmqJobQueue } from "../../src/jobs/bullmq-job-queue.ts";
import type { ServiceOverrides } from "../../src/services.ts";
import { buildTestApp } from "../support/build-test-app.ts";
import { privateDatabaseUrl } from "../support/require-postgres.ts";
import { requireRedis, TEST_REDIS_URL } from "../support/require-redis.ts";

const ADMIN = "admin-canary-key-0123456789";
const STATIC = "static-canary-key-0123456789";
const RUNS = 5000;

type Schema = {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  const?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  maxItems?: number;
  format?: string;
  additionalProperties?: boolean | Schema;
};

type Operation = {
  parameters?: { in: string; name: string; required?: boolean; schema?: Schema }[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
};

/** Strings an attacker or a broken client sends. */
const hostileString = fc.oneof(
  fc.constantFrom(
    "",
    " ",
    "\u0000",
    "__proto__",
    "constructor",
    "../../etc/passwd",
    "%00%2e%2e%2f",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "$" + "{jndi:ldap://x}",
    "\ud800",
    "𝕏".repeat(50),
    "a".repeat(70_000),
    "http://169.254.169.254/latest/meta-data/",
    "file:///etc/passwd",
    "2026-02-30T25:61:00Z",
  ),
  fc.string({ unit: "binary", maxLength: 40 }),
);
const hostileNumber = fc.constantFrom(-1, 0, 1e308, -1e308, 2 ** 53 + 1, 0.5, -0, 1e-300);

function boundaryNumber(schema: Schema, integer: boolean): fc.Arbitrary<number> {
  const min = schema.minimum ?? -1e6;
  const max = schema.maximum ?? 1e6;
  const inside = integer
    ? fc.integer({ min: Math.ceil(Math.max(min, -1e9)), max: Math.floor(Math.min(max, 1e9)) })
    : fc.double({ min: Math.max(min, -1e9), max: Math.min(max, 1e9), noNaN: true, noDefaultInfinity: true });
  return fc.oneof(inside, fc.constantFrom(min, max, min - 1, max + 1), hostileNumber);
}

/** Values for `schema`: mostly valid, with its boundaries and hostile values mixed in. */
function arbitraryFor(schema: Schema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (schema === undefined || depth > 4) return fc.jsonValue({ maxDepth: 2 });
  const union = schema.anyOf ?? schema.oneOf;
  if (union !== undefined) return fc.oneof(...union.map((member) => arbitraryFor(member, depth + 1)));
  if (schema.allOf !== undefined) return arbitraryFor(Object.assign({}, ...schema.allOf), depth + 1);
  if (schema.const !== undefined)
    return fc.oneof(
      { weight: 4, arbitrary: fc.constant(schema.const) },
      { weight: 1, arbitrary: hostileString },
    );
  if (schema.enum !== undefined)
    return fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...schema.enum) },
      { weight: 1, arbitrary: hostileString },
    );
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  const odd = fc.oneof(
    hostileString,
    hostileNumber,
    fc.constant(null),
    fc.boolean(),
    fc.jsonValue({ maxDepth: 2 }),
  );
  const withOdd = (valid: fc.Arbitrary<unknown>) =>
    fc.oneof({ weight: 5, arbitrary: valid }, { weight: 1, arbitrary: odd });
  switch (type) {
    case "string": {
      const format =
        schema.format === "date-time"
          ? fc.date({ noInvalidDate: true }).map((date) => date.toISOString())
          : undefined;
      const valid = fc.string({
        minLength: schema.minLength ?? 0,
        maxLength: Math.min(schema.maxLength ?? 60, 200),
      });
      const boundary = fc.constantFrom(
        "x".repeat(schema.minLength ?? 0),
        "x".repeat(Math.min(schema.maxLength ?? 300, 100_000)),
        "x".repeat(Math.min((schema.maxLength ?? 300) + 1, 100_001)),
        "echo",
        "openai:gpt-4o-mini",
        "hello",
      );
      return withOdd(fc.oneof(valid, boundary, hostileString, ...(format ? [format] : [])));
    }
    case "integer":
      return withOdd(boundaryNumber(schema, true));
    case "number":
      return withOdd(boundaryNumber(schema, false));
    case "boolean":
      return withOdd(fc.boolean());
    case "null":
      return fc.constant(null);
    case "array":
      return withOdd(
        fc.array(arbitraryFor(schema.items, depth + 1), { maxLength: Math.min(schema.maxItems ?? 5, 8) }),
      );
    case "object": {
      const properties = schema.properties ?? {};
      const required = new Set(schema.required ?? []);
      const record: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [name, property] of Object.entries(properties))
        record[name] = arbitraryFor(property, depth + 1);
      const valid = fc.record(record, { requiredKeys: [...required].filter((name) => name in record) });
      const extra = fc.dictionary(
        fc.oneof(hostileString, fc.constant("__proto__")),
        fc.jsonValue({ maxDepth: 1 }),
        { maxKeys: 2 },
      );
      return withOdd(
        fc.oneof(
          { weight: 4, arbitrary: valid },
          { weight: 1, arbitrary: fc.tuple(valid, extra).map(([a, b]) => ({ ...b, ...a })) },
        ),
      );
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function queryString(values: Record<string, unknown>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) {
    if (value !== undefined)
      search.append(name, (typeof value === "string" ? value : JSON.stringify(value)).toWellFormed());
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

test(`fuzzing every route from the OpenAPI schemas: ${RUNS} requests, no 5xx, the service stays up (SQLite stores)`, async (t) => {
  await fuzzEveryRoute(t, {});
});

// PostgreSQL holds no NUL in text and no unpaired surrogate, where SQLite takes both: the same
// requests must meet the same answers with every store (keys, ledger, knowledge, uploads) in it.
test(`fuzzing every route from the OpenAPI schemas: ${RUNS} requests, no 5xx, the service stays up (PostgreSQL stores)`, async (t) => {
  const database = await privateDatabaseUrl();
  t.after(database.drop);
  await fuzzEveryRoute(t, { DATABASE_URL: database.url });
});

// With REDIS_URL the limits and budgets are counted in Redis and the jobs wait in BullMQ: other
// code, other keys, other ways for a hostile id or value to fail.
test(`fuzzing every route from the OpenAPI schemas: ${RUNS} requests, no 5xx, the service stays up (Redis limits, BullMQ jobs)`, async (t) => {
  await requireRedis();
  const jobQueue = new BullmqJobQueue({
    redisUrl: TEST_REDIS_URL,
    name: `fuzz-${randomUUID()}`,
    prefix: "llm-api-test",
    attempts: 1,
    retentionMs: 60_000,
    leaseMs: 30_000,
    backoffMs: 0,
  });
  t.after(async () => {
    await jobQueue.destroy();
    await jobQueue.close();
  });
  await fuzzEveryRoute(
    t,
    { REDIS_URL: TEST_REDIS_URL },
    { jobQueue, redisPrefix: `llm-api-test-${randomUUID()}` },
  );
});

async function fuzzEveryRoute(
  t: TestContext,
  environment: Record<string, string>,
  overrides: ServiceOverrides = {},
): Promise<void> {
  const { app } = await buildTestApp({
    environment: {
      ADMIN_API_KEY: ADMIN,
      API_KEYS: STATIC,
      ECHO_DELAY_MS: "0",
      LOG_LEVEL: "silent",
      ...environment,
    },
    ...overrides,
  });
  t.after(() => app.close());
  const virtualKey = (
    await app.inject({
      method: "POST",
      url: "/admin/keys",
      headers: { authorization: `Bearer ${ADMIN}` },
      payload: { name: "fuzz", rpm: 1_000_000 },
    })
  ).json().key as string;

  const document = (
    await app.inject({ method: "GET", url: "/openapi.json", headers: { authorization: `Bearer ${ADMIN}` } })
  ).json() as {
    paths: Record<string, Record<string, Operation>>;
  };
  const operations = Object.entries(document.paths).flatMap(([route, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({
      route,
      method: method.toUpperCase(),
      operation,
    })),
  );
  assert.ok(operations.length >= 15, `found ${operations.length} operations`);
  for (const expected of [
    "/chat",
    "/v1/chat/completions",
    "/admin/keys",
    "/admin/usage",
    "/ingest",
    "/jobs",
  ]) {
    assert.ok(
      operations.some((operation) => operation.route === expected),
      expected,
    );
  }

  // Mostly valid keys, so that most requests reach the routes; the rest probe authentication.
  const authorization = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(`Bearer ${ADMIN}`, `Bearer ${STATIC}`, `Bearer ${virtualKey}`) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constantFrom("Bearer", "Basic Zm9vOmJhcg==", `Bearer ${virtualKey}x`) },
    { weight: 1, arbitrary: hostileString.map((value) => `Bearer ${value.replace(/[^\t\x20-\x7e]/g, "")}`) },
  );
  const contentType = fc.constantFrom(
    "application/json",
    "application/json; charset=utf-8",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/json; charset=latin1",
    "",
    "application/xml",
  );
  const request = fc.constantFrom(...operations).chain(({ route, method, operation }) => {
    const parameters = operation.parameters ?? [];
    const pathParameters = Object.fromEntries(
      parameters
        .filter((parameter) => parameter.in === "path")
        .map((parameter) => [parameter.name, arbitraryFor(parameter.schema)]),
    );
    const queryParameters = Object.fromEntries(
      parameters
        .filter((parameter) => parameter.in === "query")
        .map((parameter) => [parameter.name, fc.option(arbitraryFor(parameter.schema), { nil: undefined })]),
    );
    const bodySchema = operation.requestBody?.content?.["application/json"]?.schema;
    const body = fc.oneof(
      { weight: 6, arbitrary: arbitraryFor(bodySchema).map((value) => JSON.stringify(value) ?? "null") },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          "",
          "{",
          "[1,",
          '{"__proto__": {"x": 1}}',
          '{"constructor": {"prototype": {}}}',
          "null",
          "\u0000",
          "{}".repeat(2000),
        ),
      },
      { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
    );
    return fc.record({
      route: fc.constant(route),
      method: fc.constant(method),
      path: fc.record(pathParameters),
      query: fc.record(queryParameters, { requiredKeys: [] }),
      body,
      authorization,
      contentType,
      extraHeaders: fc.dictionary(
        fc.constantFrom(
          "x-request-id",
          "traceparent",
          "accept",
          "x-api-key",
          "origin",
          "accept-encoding",
          "x-forwarded-for",
        ),
        hostileString.map((value) => value.replace(/[^\t\x20-\x7e]/g, "").slice(0, 2000)),
        { maxKeys: 3 },
      ),
    });
  });

  const statuses = new Map<number, number>();
  let sent = 0;
  await fc.assert(
    fc.asyncProperty(request, async (generated) => {
      const url =
        generated.route.replace(/\{(\w+)\}/g, (_, name: string) => {
          const value = generated.path[name];
          const text = typeof value === "string" ? value : JSON.stringify(value ?? "x");
          // Lone surrogates cannot be sent as UTF-8 at all.
          return encodeURIComponent(text.toWellFormed()).slice(0, 300);
        }) + queryString(generated.query);
      const headers: Record<string, string> = { ...generated.extraHeaders };
      if (generated.authorization !== undefined) headers.authorization = generated.authorization;
      const hasBody = generated.method !== "GET" && generated.method !== "DELETE";
      if (hasBody && generated.contentType !== "") headers["content-type"] = generated.contentType;
      // An events stream of a real job would stay open; no fuzzed id can name one, and a timeout says so.
      const response = await app.inject({
        method: generated.method as "GET",
        url,
        headers,
        ...(hasBody ? { payload: generated.body } : {}),
      });
      sent += 1;
      statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
      if (response.statusCode >= 500) {
        throw new Error(
          `${generated.method} ${url} -> ${response.statusCode}: ${response.body.slice(0, 300)}`,
        );
      }
    }),
    { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31), endOnFailure: true },
  );
  assert.equal(sent, RUNS);
  t.diagnostic(`statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}`);
  assert.ok(
    [...statuses.keys()].some((status) => status < 300),
    "some requests were valid and served",
  );
  const health = await app.inject({ method: "GET", url: "/health" });
  assert.equal(health.statusCode, 200, "the service is still up");
}
