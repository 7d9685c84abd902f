import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { startFakeLlmUpstream } from "../support/fake-llm-upstream.ts";
import { startKillableUpstream } from "../support/killable-upstream.ts";
import { runConcurrently, startRoutingTestApp } from "../support/routing-test-app.ts";

type After = { after: (fn: () => unknown) => void };

async function fakes(t: After, count: number) {
  const started = await Promise.all(Array.from({ length: count }, () => startFakeLlmUpstream()));
  t.after(() => Promise.all(started.map((upstream) => upstream.close())));
  return started;
}

async function statusOf(address: string, model: string, deployment: string) {
  const status = (await (await fetch(`${address}/models/status`)).json()) as {
    models: {
      name: string;
      deployments: { id: string; healthy: boolean; cooldown_remaining_ms: number }[];
    }[];
  };
  const found = status.models
    .find((entry) => entry.name === model)
    ?.deployments.find((d) => d.id === deployment);
  assert.ok(found !== undefined, `${model}/${deployment} is listed`);
  return found;
}

test("a deployment killed mid-run: 1,000 requests and 200 streams after the kill all succeed, and the dead one sees only its probes", async (t) => {
  const killable = await Promise.all([startKillableUpstream(), startKillableUpstream()]);
  t.after(() => Promise.all(killable.map((upstream) => upstream.close())));
  const [a, b] = killable;
  const initialMs = 400;
  const { complete, post, address } = await startRoutingTestApp(
    t,
    `
router: { strategy: weighted, cooldown: { initial_ms: ${initialMs}, max_ms: 3200 } }
models:
  - name: chat
    deployments:
      - { id: a, provider: openai, model: m, base_url: "${a.baseUrl}" }
      - { id: b, provider: openai, model: m, base_url: "${b.baseUrl}" }
`,
  );
  const warmUp = await runConcurrently(100, 10, async () => (await complete({ model: "chat" })).status);
  assert.deepEqual(new Set(warmUp), new Set([200]));
  assert.ok(a.upstream.requests.length >= 40, "both deployments served before the kill");

  a.kill();
  const answerOf = async (index: number) => {
    if (index % 6 !== 0) {
      const response = await complete({ model: "chat" });
      return { status: response.status, ok: (await response.text()).includes('"chat.completion"') };
    }
    // Every sixth is a stream, alternating the relayed OpenAI stream and the AI SDK's SSE.
    const response =
      index % 12 === 0
        ? await complete({ model: "chat", stream: true })
        : await post("/chat/stream", { message: "Hi", model: "chat" });
    const text = await response.text();
    return { status: response.status, ok: text.endsWith("data: [DONE]\n\n") && !text.includes("error") };
  };
  const answers = await runConcurrently(1200, 10, answerOf);
  const failed = answers.filter((answer) => answer.status !== 200 || !answer.ok);
  assert.equal(failed.length, 0, JSON.stringify(failed.slice(0, 3)));
  assert.equal(answers.length, 1200);

  // Connections that reached the dead deployment: the first burst (requests routed to it before its
  // first failure came back), then one probe per cooldown, each at least the cooldown after the last.
  const attempts = a.attemptsWhileKilled;
  assert.ok(attempts.length >= 2, `the dead deployment was probed (${attempts.length} attempts)`);
  const burst = attempts.filter((at) => at - attempts[0] < initialMs / 2);
  assert.ok(burst.length <= 10, `the first burst is at most the concurrency (${burst.length})`);
  const probes = attempts.slice(burst.length);
  let cooldownMs = initialMs;
  let previous = burst[burst.length - 1];
  for (const probe of probes) {
    assert.ok(
      probe - previous >= cooldownMs * 0.9,
      `a probe came ${probe - previous} ms after the last, in a ${cooldownMs} ms cooldown`,
    );
    previous = probe;
    cooldownMs = Math.min(3200, cooldownMs * 2);
  }
  assert.equal((await statusOf(address, "chat", "a")).healthy, false);
});

test("a 429 with Retry-After: 2 keeps that deployment out for 2 s, then one probe brings it back", async (t) => {
  const [a, b] = await fakes(t, 2);
  a.script({ status: 429, headers: { "retry-after": "2" } }, {});
  const { complete, address, metric } = await startRoutingTestApp(
    t,
    `
router: { cooldown: { initial_ms: 100, max_ms: 200 } }
models:
  - name: chat
    deployments:
      - { id: a, provider: openai, model: m, base_url: "${a.baseUrl}" }
      - { id: b, provider: openai, model: m, base_url: "${b.baseUrl}" }
`,
  );
  const first = await complete({ model: "chat" });
  assert.equal(first.status, 200, "failed over to b at once");
  assert.equal(first.headers.get("x-llm-deployment"), "chat/b");
  assert.equal(first.headers.get("x-llm-attempts"), "2");
  const rateLimitedAt = a.requests[0].receivedAt;
  const cooling = await statusOf(address, "chat", "a");
  assert.equal(cooling.healthy, false);
  assert.ok(
    cooling.cooldown_remaining_ms > 1500 && cooling.cooldown_remaining_ms <= 2000,
    String(cooling.cooldown_remaining_ms),
  );
  assert.equal(await metric("llm_api_deployment_up", { model: "chat", deployment: "a" }), 0);
  assert.equal(
    await metric("llm_api_deployment_requests_total", { deployment: "a", outcome: "rate_limited" }),
    1,
  );

  let during = 0;
  while (Date.now() < rateLimitedAt + 1800) {
    assert.equal((await complete({ model: "chat" })).status, 200);
    during += 1;
    await sleep(50);
  }
  assert.ok(during >= 5);
  assert.equal(a.requests.length, 1, "no request reached a during its 2 s");

  await sleep(rateLimitedAt + 2100 - Date.now());
  for (let index = 0; index < 4; index += 1) assert.equal((await complete({ model: "chat" })).status, 200);
  assert.ok(a.requests.length >= 2, "the probe went to a");
  assert.equal((await statusOf(address, "chat", "a")).healthy, true);
  assert.equal(await metric("llm_api_deployment_up", { model: "chat", deployment: "a" }), 1);
});

test("every deployment of a model down: its fallback answers, and llm_api_fallbacks_total moves; without one the most telling error", async (t) => {
  const [a, b, claude, limited] = await fakes(t, 4);
  a.script({ status: 503 });
  b.script({ status: 500 });
  limited.script({ status: 429, headers: { "retry-after": "7" } });
  const dead = await startKillableUpstream();
  t.after(() => dead.close());
  dead.kill();
  const { complete, post, metric, logs } = await startRoutingTestApp(
    t,
    `
models:
  - name: chat
    fallbacks: [claude]
    deployments:
      - { id: a, provider: openai, model: m, base_url: "${a.baseUrl}" }
      - { id: b, provider: openai, model: m, base_url: "${b.baseUrl}" }
  - name: claude
    deployments:
      - { provider: anthropic, model: claude-sonnet-4-5, base_url: "${claude.baseUrl}", api_key: sk-ant-test }
  - name: solo
    deployments:
      - { id: down, provider: openai, model: m, base_url: "${dead.baseUrl}" }
      - { id: limited, provider: openai, model: m, base_url: "${limited.baseUrl}" }
`,
  );
  const response = await complete({ model: "chat" });
  assert.equal(response.status, 200);
  const body = (await response.json()) as { choices: { message: { content: string } }[]; model: string };
  assert.equal(body.choices[0].message.content, "Hello from the fake upstream.");
  assert.equal(response.headers.get("x-llm-deployment"), "claude/0");
  assert.equal(response.headers.get("x-llm-attempts"), "3");
  assert.equal(claude.requests[0].path, "/v1/messages");
  assert.equal(a.requests.length + b.requests.length, 2, "each deployment was tried once");
  assert.equal(await metric("llm_api_fallbacks_total", { model: "chat", fallback: "claude" }), 1);
  // The model call's log line names who served it.
  const served = logs.lines().find((line) => line.msg === "model call completed");
  assert.equal(served?.deployment, "claude/0");
  assert.equal(served?.attempts, 3);
  assert.equal(served?.retries, 2);
  assert.equal(
    await metric("llm_api_deployment_requests_total", {
      model: "chat",
      deployment: "a",
      outcome: "server_error",
    }),
    1,
  );
  // Both chat deployments are cooling down now: the next call goes straight to the fallback.
  const next = await post("/chat", { message: "Hi", model: "chat" });
  assert.equal(next.status, 200);
  assert.equal(next.headers.get("x-llm-deployment"), "claude/0");
  assert.equal(next.headers.get("x-llm-attempts"), "1");
  assert.equal(a.requests.length + b.requests.length, 2);
  assert.equal(await metric("llm_api_fallbacks_total", { model: "chat", fallback: "claude" }), 2);

  // No fallback: of a refused connection and a 429, the client is told of the 429 and when to retry.
  const refused = await complete({ model: "solo" });
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get("retry-after"), "7");
  assert.equal(((await refused.json()) as { error: { code: string } }).error.code, "upstream_rate_limited");
  assert.equal(refused.headers.get("x-llm-attempts"), "2");
  // Both cooling down: nothing is sent, a 503 says when one is back.
  const cooling = await complete({ model: "solo" });
  assert.equal(cooling.status, 503);
  assert.ok(Number(cooling.headers.get("retry-after")) >= 1);
  assert.equal(limited.requests.length, 1);
});

test("a stream whose upstream dies after the first byte ends with the error frame and is not retried", async (t) => {
  const [dying, healthy] = await fakes(t, 2);
  // The first delta reaches the client well before the upstream dies.
  dying.script({ deltas: ["Hel", "lo", " there"], dieAfter: 1, chunkDelayMs: 150 });
  const deployments = (prefix: string) => `
    deployments:
      - { id: ${prefix}-dying, provider: openai, model: m, base_url: "${dying.baseUrl}", weight: 1000 }
      - { id: ${prefix}-healthy, provider: openai, model: m, base_url: "${healthy.baseUrl}" }`;
  const { complete, post, metric } = await startRoutingTestApp(
    t,
    `
router: { cooldown: { initial_ms: 60000, max_ms: 60000 } }
models:
  - name: relayed${deployments("relayed")}
  - name: framed${deployments("framed")}
`,
  );
  const relayed = await complete({ model: "relayed", stream: true });
  assert.equal(relayed.status, 200);
  assert.equal(relayed.headers.get("x-llm-deployment"), "relayed/relayed-dying");
  const relayedText = await relayed.text();
  assert.match(relayedText, /"content":"Hel"/);
  assert.match(
    relayedText,
    /data: \{"error":\{"message":"[^"]+","type":"[^"]+","code":"upstream_[a-z_]+","param":null\}\}\n\ndata: \[DONE\]\n\n$/,
  );
  assert.doesNotMatch(relayedText, /finish_reason":"stop"/);

  const framed = await post("/chat/stream", { message: "Hi", model: "framed" });
  const framedText = await framed.text();
  assert.match(framedText, /data: Hel\n\n/);
  assert.match(framedText, /event: error\ndata: UPSTREAM_[A-Z_]+: [^\n]+\n\ndata: \[DONE\]\n\n$/);

  assert.equal(dying.requests.length, 2);
  assert.equal(healthy.requests.length, 0, "nothing was retried elsewhere after the first byte");
  const failures = ["server_error", "unreachable"].map((outcome) =>
    metric("llm_api_deployment_requests_total", { deployment: "relayed-dying", outcome }),
  );
  assert.equal(
    (await Promise.all(failures)).reduce((sum, value) => sum + value, 0),
    1,
    "the cut stream is counted",
  );
});

test("`promtool check metrics` passes on the routing metrics after failovers and fallbacks", async (t) => {
  const promtool = spawnSync("promtool", ["--version"], { encoding: "utf8" });
  assert.equal(promtool.status, 0, "promtool is not installed: install the Debian package `prometheus`");
  const [down, claude] = await fakes(t, 2);
  down.script({ status: 503 });
  const { complete, address } = await startRoutingTestApp(
    t,
    `
models:
  - name: chat
    fallbacks: [claude]
    deployments:
      - { id: down, provider: openai, model: m, base_url: "${down.baseUrl}" }
      - { id: echo, provider: echo, weight: 0.001 }
  - name: claude
    deployments:
      - { provider: anthropic, model: claude-sonnet-4-5, base_url: "${claude.baseUrl}" }
`,
    { LLM_MAX_RETRIES: "0" },
  );
  assert.equal((await complete({ model: "chat" })).headers.get("x-llm-deployment"), "claude/0");
  assert.equal((await complete({ model: "chat" })).headers.get("x-llm-deployment"), "chat/echo");
  const exposition = await (await fetch(`${address}/metrics`)).text();
  for (const name of [
    "llm_api_deployment_up",
    "llm_api_deployment_requests_total",
    "llm_api_fallbacks_total",
    "llm_api_catalog_reloads_total",
  ]) {
    assert.match(exposition, new RegExp(`^${name}\\{`, "m"), name);
  }
  const result = spawnSync("promtool", ["check", "metrics"], { input: exposition, encoding: "utf8" });
  assert.equal(result.status, 0, `promtool found problems:\n${result.stdout}${result.stderr}`);
});
