import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { ServerResponse } from "node:http";
import { test } from "node:test";
import { privateAccessStore, startAccessTestApp } from "../support/access-test-app.ts";
import { startFakeLlmUpstream } from "../support/fake-llm-upstream.ts";
import { readStreamToEnd } from "../support/read-stream-to-end.ts";
import { requireRedis, TEST_REDIS_URL } from "../support/require-redis.ts";
import { waitFor } from "../support/wait-for.ts";

const RATE_HEADERS = [
  "x-ratelimit-limit-requests",
  "x-ratelimit-remaining-requests",
  "x-ratelimit-reset-requests",
  "x-ratelimit-limit-tokens",
  "x-ratelimit-remaining-tokens",
  "x-ratelimit-reset-tokens",
];

const message = { message: "hi" };

test("30 rpm: the 31st request in the minute gets 429 with Retry-After and OpenAI's headers, which successes carry too", async (t) => {
  const service = await startAccessTestApp(t);
  const { key } = await service.createKey({ name: "thirty", rpm: 30, tpm: 1_000_000 });

  for (let index = 1; index <= 30; index += 1) {
    const response = await service.post("/chat", key, message);
    assert.equal(response.status, 200, `request ${index}`);
    await response.arrayBuffer();
    for (const header of RATE_HEADERS) assert.ok(response.headers.get(header), `${header} on success`);
    assert.equal(response.headers.get("x-ratelimit-limit-requests"), "30");
    assert.equal(response.headers.get("x-ratelimit-remaining-requests"), String(30 - index));
  }
  const refused = await service.post("/chat", key, message);
  assert.equal(refused.status, 429);
  const retryAfter = Number(refused.headers.get("retry-after"));
  assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
  assert.equal(refused.headers.get("x-ratelimit-remaining-requests"), "0");
  assert.match(refused.headers.get("x-ratelimit-reset-requests") ?? "", /^\d+(m\d+)?s$|^\d+ms$/);
  assert.equal(((await refused.json()) as { error: { code: string } }).error.code, "RATE_LIMIT_EXCEEDED");

  const openai = await service.post("/v1/chat/completions", key, {
    model: "openai:fake-model",
    messages: [{ role: "user", content: "hi" }],
  });
  assert.equal(openai.status, 429);
  const body = (await openai.json()) as { error: Record<string, string> };
  assert.equal(body.error.code, "rate_limit_exceeded");
  assert.equal(body.error.type, "rate_limit_error");
  assert.ok(openai.headers.get("retry-after"));
  assert.equal(service.upstream.requests.length, 30, "refused calls never reached the model");
});

test("two keys with different limits, called in turn: each answer's headers give its own key's limits", async (t) => {
  const service = await startAccessTestApp(t);
  const keys: { limits: { rpm: number; tpm: number }; key: string }[] = [];
  for (const [name, limits] of [
    ["small", { rpm: 30, tpm: 1_000_000 }],
    ["large", { rpm: 45, tpm: 2_000_000 }],
  ] as const) {
    keys.push({ limits, key: (await service.createKey({ name, ...limits })).key });
  }
  for (let turn = 0; turn < 6; turn += 1) {
    const { key, limits } = keys[turn % 2];
    const response = await service.post("/chat", key, message);
    assert.equal(response.status, 200);
    await response.arrayBuffer();
    assert.equal(response.headers.get("x-ratelimit-limit-requests"), String(limits.rpm), `turn ${turn}`);
    assert.equal(response.headers.get("x-ratelimit-limit-tokens"), String(limits.tpm), `turn ${turn}`);
    assert.equal(
      response.headers.get("x-ratelimit-remaining-requests"),
      String(limits.rpm - 1 - Math.floor(turn / 2)),
      `turn ${turn}`,
    );
    assert.match(response.headers.get("x-ratelimit-reset-tokens") ?? "", /^\d+(m\d+)?s$|^\d+ms$/);
  }
});

test("every kind of answer carries the rate-limit headers: JSON, SSE, plain text, both OpenAI shapes and Anthropic's", async (t) => {
  const service = await startAccessTestApp(t);
  const { key } = await service.createKey({ name: "every-shape", rpm: 1000, tpm: 1_000_000 });
  const completion = { model: "openai:fake-model", messages: [{ role: "user", content: "hi" }] };
  const calls: Array<[string, unknown]> = [
    ["/chat", message],
    ["/chat/stream", message],
    ["/chat/stream-text", message],
    ["/v1/chat/completions", completion],
    ["/v1/chat/completions", { ...completion, stream: true }],
    [
      "/v1/messages",
      { model: "openai:fake-model", max_tokens: 16, messages: [{ role: "user", content: "hi" }] },
    ],
    [
      "/v1/messages",
      {
        model: "openai:fake-model",
        max_tokens: 16,
        stream: true,
        messages: [{ role: "user", content: "hi" }],
      },
    ],
  ];
  let remaining = 1000;
  for (const [path, body] of calls) {
    const response = await service.post(path, key, body);
    const streamed = JSON.stringify(body).includes('"stream":true') || path.includes("/stream");
    assert.equal(response.status, 200, `${path}${streamed ? " streamed" : ""}`);
    await response.arrayBuffer();
    for (const header of RATE_HEADERS) assert.ok(response.headers.get(header), `${header} on ${path}`);
    remaining -= 1;
    assert.equal(response.headers.get("x-ratelimit-remaining-requests"), String(remaining), path);
  }
});

test("an answer with rate limits holds at most 21 headers of the app's, where V8 keeps Fastify's header object fast", async (t) => {
  const service = await startAccessTestApp(t);
  const { key } = await service.createKey({ name: "counted", rpm: 1000, tpm: 1_000_000, max_parallel: 10 });
  const answers = [
    await service.post("/chat", key, message),
    await service.post("/v1/chat/completions", key, {
      model: "openai:fake-model",
      messages: [{ role: "user", content: "hi" }],
    }),
  ];
  for (const answer of answers) {
    assert.equal(answer.status, 200);
    await answer.arrayBuffer();
    // Node writes these three itself, outside the reply's header object.
    const own = [...answer.headers.keys()].filter(
      (name) => !["date", "connection", "keep-alive"].includes(name),
    );
    for (const header of RATE_HEADERS) assert.ok(own.includes(header), header);
    // Past 21, V8 turns Fastify's object into a dictionary: several microseconds on every such answer.
    assert.ok(own.length <= 21, `${own.length} headers: ${own.join(", ")}`);
  }
});

test("a keyed JSON answer sets no header on Node's response before writeHead, which then takes its fast path", async (t) => {
  const service = await startAccessTestApp(t);
  const { key } = await service.createKey({ name: "fast-path", rpm: 1000, tpm: 1_000_000, max_parallel: 10 });
  // Node writes an answer's headers in one pass when none were set on the response itself. One
  // header set there (the rate-limit headers were, for a commit) sends every other one through
  // setHeader at writeHead as well: about 30-40 µs more CPU a keyed request in the bench.
  // Only the service's own answers count: the fake upstream answers in this process too.
  const servicePort = Number(new URL(service.address).port);
  const setHeader = ServerResponse.prototype.setHeader;
  const setOnResponse: string[] = [];
  ServerResponse.prototype.setHeader = function (this: ServerResponse, name: string, value) {
    if (!this.headersSent && this.socket?.localPort === servicePort) setOnResponse.push(name);
    return setHeader.call(this, name, value);
  };
  t.after(() => {
    ServerResponse.prototype.setHeader = setHeader;
  });
  for (const [path, body] of [
    ["/chat", message],
    ["/v1/chat/completions", { model: "openai:fake-model", messages: [{ role: "user", content: "hi" }] }],
  ] as const) {
    setOnResponse.length = 0;
    const answer = await service.post(path, key, body);
    assert.equal(answer.status, 200);
    await answer.arrayBuffer();
    assert.ok(answer.headers.get("x-ratelimit-remaining-requests"), path);
    assert.deepEqual(setOnResponse, [], `${path}: headers set on Node's response`);
  }
});

test("two instances on one Redis with a 40 rpm key, sent 60 requests alternately: exactly 40 pass", async (t) => {
  await requireRedis();
  const upstream = await startFakeLlmUpstream();
  t.after(() => upstream.close());
  const accessStore = privateAccessStore();
  t.after(() => accessStore.close());
  const redisPrefix = `llm-api-test-${randomUUID()}`;
  const environment = { REDIS_URL: TEST_REDIS_URL };
  const first = await startAccessTestApp(t, { upstream, accessStore, redisPrefix, environment });
  const second = await startAccessTestApp(t, { upstream, accessStore, redisPrefix, environment });
  for (const service of [first, second]) {
    await waitFor("limits to be shared on Redis", () => service.services.access.limitsShared() === true);
  }
  const { key } = await first.createKey({ name: "forty", rpm: 40 });

  const statuses: number[] = [];
  for (let index = 0; index < 60; index += 1) {
    const response = await (index % 2 === 0 ? first : second).post("/chat", key, message);
    statuses.push(response.status);
    await response.arrayBuffer();
  }
  assert.equal(statuses.filter((status) => status === 200).length, 40);
  assert.equal(statuses.filter((status) => status === 429).length, 20);
  assert.deepEqual(
    statuses.slice(0, 40),
    Array(40).fill(200),
    "the first 40 pass, whichever instance took them",
  );
});

test("tpm counts real usage: a 1,000 tpm key is stopped after the calls that used it up", async (t) => {
  const service = await startAccessTestApp(t);
  // 7 prompt tokens and 100 completion tokens a call, as the fake upstream reports them.
  service.upstream.script({ deltas: Array.from({ length: 100 }, (_, index) => `w${index} `) });
  const { key } = await service.createKey({ name: "thousand", tpm: 1000 });

  let passed = 0;
  let used = 0;
  for (let index = 0; index < 20; index += 1) {
    // max_tokens 500 reserves ~500 tokens: were reservations never settled, two calls would fill the minute.
    const response = await service.post("/chat", key, { message: "hi", max_tokens: 500 });
    if (response.status === 429) {
      assert.equal(response.headers.get("x-ratelimit-remaining-tokens"), "0");
      break;
    }
    assert.equal(response.status, 200);
    const body = (await response.json()) as { usage: { total_tokens: number } };
    used += body.usage.total_tokens;
    passed += 1;
  }
  assert.equal(used, passed * 107);
  assert.equal(passed, 10, "admitted while the real usage stayed under 1,000 tokens: 10 calls of 107");
});

test("max_parallel 2: the third concurrent stream gets 429, and a slot is freed on end, error and disconnect", async (t) => {
  const service = await startAccessTestApp(t);
  const { key } = await service.createKey({ name: "two", max_parallel: 2 });
  const slow = { deltas: ["a", "b", "c", "d"], chunkDelayMs: 300 };
  const stream = (init: RequestInit = {}) => service.post("/chat/stream", key, message, init);

  // Two streams hold both slots; a third is refused.
  service.upstream.script(slow);
  const held = [await stream(), await stream()];
  for (const response of held) assert.equal(response.status, 200);
  const third = await stream();
  assert.equal(third.status, 429);
  assert.equal(((await third.json()) as { error: { code: string } }).error.code, "RATE_LIMIT_EXCEEDED");

  // End: both finish, and two new ones are admitted.
  await Promise.all(held.map((response) => readStreamToEnd(response.body!.getReader())));
  service.upstream.script({ deltas: ["x"] });
  const afterEnd = await Promise.all([stream(), stream()]);
  assert.deepEqual(
    afterEnd.map((response) => response.status),
    [200, 200],
  );
  await Promise.all(afterEnd.map((response) => readStreamToEnd(response.body!.getReader())));

  // Error: the upstream fails both calls; their slots come back.
  service.upstream.script({ status: 500 });
  const failed = await Promise.all([stream(), stream()]);
  for (const response of failed) {
    // The SSE stream opened before the call: the failure is its error frame.
    assert.match(await readStreamToEnd(response.body!.getReader()), /event: error/);
  }
  assert.equal(service.upstream.requests.length, 6);

  // Disconnect: two clients leave mid-stream; their slots come back.
  service.upstream.script(slow);
  const controllers = [new AbortController(), new AbortController()];
  const leaving = await Promise.all(controllers.map((controller) => stream({ signal: controller.signal })));
  for (const response of leaving) assert.equal(response.status, 200);
  const refusedWhileHeld = await stream();
  assert.equal(refusedWhileHeld.status, 429);
  await refusedWhileHeld.arrayBuffer();
  for (const controller of controllers) controller.abort();

  service.upstream.script({ deltas: ["y"] });
  await waitFor("both slots to be freed after the disconnects", async () => {
    const responses = await Promise.all([stream(), stream()]);
    const statuses = responses.map((response) => response.status);
    await Promise.all(responses.map((response) => response.arrayBuffer()));
    return statuses.every((status) => status === 200);
  });
});

test("without keys, RATE_LIMIT_RPM limits each client address", async (t) => {
  const service = await startAccessTestApp(t, { environment: { ADMIN_API_KEY: "", RATE_LIMIT_RPM: "3" } });
  const statuses: number[] = [];
  for (let index = 0; index < 4; index += 1) {
    const response = await service.post("/chat", undefined, message);
    statuses.push(response.status);
    await response.arrayBuffer();
  }
  assert.deepEqual(statuses, [200, 200, 200, 429]);
});

test("/v1/embeddings goes through the same admission: a key's rpm stops it, and each call is a ledger row", async (t) => {
  const service = await startAccessTestApp(t);
  const { key, id } = await service.createKey({ name: "embedder", rpm: 2 });
  const statuses: number[] = [];
  for (let index = 0; index < 3; index += 1) {
    const response = await service.post("/v1/embeddings", key, { model: "echo", input: "the cat sat" });
    statuses.push(response.status);
    if (response.status === 429) {
      assert.equal(
        ((await response.json()) as { error: { code: string } }).error.code,
        "rate_limit_exceeded",
      );
    } else await response.arrayBuffer();
  }
  assert.deepEqual(statuses, [200, 200, 429]);
  const [usage] = (await service.usage(`key_id=${id}`)).data;
  assert.equal(usage.requests, 2);
  assert.equal(usage.output_tokens, 0);
});
