import assert from "node:assert/strict";
import { test } from "node:test";
import { startFakeLlmUpstream } from "../support/fake-llm-upstream.ts";
import { runConcurrently, startRoutingTestApp } from "../support/routing-test-app.ts";

async function upstreams(t: { after: (fn: () => unknown) => void }, count: number) {
  const started = await Promise.all(Array.from({ length: count }, () => startFakeLlmUpstream()));
  t.after(() => Promise.all(started.map((upstream) => upstream.close())));
  return started;
}

test("weights 3:1: over 2,000 requests the split is within ±5 %, and the answer says who served it", async (t) => {
  const [a, b] = await upstreams(t, 2);
  const { complete, metric } = await startRoutingTestApp(
    t,
    `
models:
  - name: chat
    aliases: [gpt-4o-mini]
    deployments:
      - { id: a, provider: openai, model: model-a, base_url: "${a.baseUrl}", weight: 3 }
      - { id: b, provider: openai, model: model-b, base_url: "${b.baseUrl}", weight: 1 }
`,
  );
  const served = await runConcurrently(2000, 16, async (index) => {
    const response = await complete({ model: index % 2 === 0 ? "chat" : "gpt-4o-mini" });
    assert.equal(response.status, 200);
    await response.text();
    return {
      deployment: response.headers.get("x-llm-deployment"),
      attempts: response.headers.get("x-llm-attempts"),
    };
  });
  const share = a.requests.length / 2000;
  assert.ok(Math.abs(share - 0.75) <= 0.05, `deployment a took ${a.requests.length} of 2000`);
  assert.equal(a.requests.length + b.requests.length, 2000);
  assert.equal(a.requests[0].body.model, "model-a", "each deployment is asked for its own model id");
  assert.equal(b.requests[0].body.model, "model-b");
  assert.equal(served.filter((answer) => answer.deployment === "chat/a").length, a.requests.length);
  assert.ok(served.every((answer) => answer.attempts === "1"));
  assert.equal(
    await metric("llm_api_deployment_requests_total", { model: "chat", deployment: "a", outcome: "success" }),
    a.requests.length,
  );
  assert.equal(await metric("llm_api_deployment_up", { model: "chat", deployment: "b" }), 1);
});

test("max_concurrency is never exceeded under 200 concurrent requests, and none of them fails", async (t) => {
  const [a, b] = await upstreams(t, 2);
  for (const upstream of [a, b]) upstream.script({ firstChunkDelayMs: 40 });
  const { complete, post } = await startRoutingTestApp(
    t,
    `
router: { strategy: least-busy }
models:
  - name: chat
    deployments:
      - { id: a, provider: openai, model: m, base_url: "${a.baseUrl}", max_concurrency: 5 }
      - { id: b, provider: openai, model: m, base_url: "${b.baseUrl}", max_concurrency: 3 }
`,
  );
  const statuses = await Promise.all(
    Array.from({ length: 200 }, async (_, index) => {
      // Streams and whole answers share the caps.
      const response =
        index % 4 === 0
          ? await post("/chat/stream", { message: "Hi", model: "chat" })
          : await complete({ model: "chat" });
      const text = await response.text();
      if (index % 4 === 0) assert.match(text, /data: \[DONE\]/);
      return response.status;
    }),
  );
  assert.deepEqual(new Set(statuses), new Set([200]));
  assert.equal(a.requests.length + b.requests.length, 200);
  assert.ok(a.maxInFlight <= 5, `a had ${a.maxInFlight} at once`);
  assert.ok(b.maxInFlight <= 3, `b had ${b.maxInFlight} at once`);
  assert.equal(a.maxInFlight, 5, "a was used up to its cap");
  assert.equal(b.maxInFlight, 3, "b was used up to its cap");
});

test("rpm: a deployment at its requests per minute is passed over for another", async (t) => {
  const [a, b] = await upstreams(t, 2);
  const { complete } = await startRoutingTestApp(
    t,
    `
models:
  - name: chat
    deployments:
      - { id: a, provider: openai, model: m, base_url: "${a.baseUrl}", rpm: 5, weight: 100 }
      - { id: b, provider: openai, model: m, base_url: "${b.baseUrl}" }
`,
  );
  for (let index = 0; index < 20; index += 1) assert.equal((await complete({ model: "chat" })).status, 200);
  assert.equal(a.requests.length, 5);
  assert.equal(b.requests.length, 15);
});

test("/v1/models lists names and aliases; /models/status shows each deployment, behind the API key, with no key or credential", async (t) => {
  const [a] = await upstreams(t, 1);
  const { address } = await startRoutingTestApp(
    t,
    `
models:
  - name: chat
    aliases: [gpt-4o-mini, fast]
    fallbacks: [backup]
    deployments:
      - { id: a, provider: openai, model: m, base_url: "${a.baseUrl}?token=hidden", api_key: "sk-deployment-secret", max_concurrency: 4, rpm: 60 }
      - { id: e, provider: echo }
  - name: backup
    deployments: [{ provider: echo }]
`,
    { API_KEYS: "client-key-1234" },
  );
  const authorized = { authorization: "Bearer client-key-1234" };
  assert.equal((await fetch(`${address}/models/status`)).status, 401);
  const models = (await (await fetch(`${address}/v1/models`, { headers: authorized })).json()) as {
    data: { id: string; owned_by: string }[];
  };
  assert.deepEqual(
    models.data.map((model) => [model.id, model.owned_by]),
    [
      ["chat", "openai"],
      ["gpt-4o-mini", "openai"],
      ["fast", "openai"],
      ["backup", "echo"],
      ["echo", "echo"],
    ],
  );
  const response = await fetch(`${address}/models/status`, { headers: authorized });
  assert.equal(response.status, 200);
  const text = await response.text();
  assert.ok(!text.includes("sk-deployment-secret") && !text.includes("hidden"), text);
  const status = JSON.parse(text);
  assert.equal(status.source, "models file");
  assert.equal(status.default_model, "chat");
  assert.deepEqual(status.models[0].deployments[0], {
    id: "a",
    provider: "openai",
    model: "m",
    base_url: `${a.baseUrl}`,
    weight: 1,
    healthy: true,
    cooldown_remaining_ms: 0,
    in_flight: 0,
    max_concurrency: 4,
    rpm: 60,
    recent_error_rate: null,
  });
  assert.deepEqual(status.models[0].aliases, ["gpt-4o-mini", "fast"]);
  // With a models file a bare name must be one of its models, never the default provider's guess.
  const unknown = await fetch(`${address}/v1/chat/completions`, {
    method: "POST",
    headers: { ...authorized, "content-type": "application/json" },
    body: JSON.stringify({ model: "gpt-5", messages: [{ role: "user", content: "Hi" }] }),
  });
  assert.equal(unknown.status, 400);
  const refusal = (await unknown.json()) as { error: { param: string; message: string } };
  assert.equal(refusal.error.param, "model");
  assert.match(refusal.error.message, /not in the models file; use one of chat, backup/);
  assert.deepEqual(status.models[0].fallbacks, ["backup"]);
});

test("a request a deployment's provider cannot carry passes that deployment over, and is refused by name when none can", async (t) => {
  const [claude, openai] = await upstreams(t, 2);
  const { complete } = await startRoutingTestApp(
    t,
    `
models:
  - name: mixed
    deployments:
      - { id: claude, provider: anthropic, model: claude-sonnet-4-5, base_url: "${claude.baseUrl}", weight: 1000 }
      - { id: relay, provider: openai, model: m, base_url: "${openai.baseUrl}" }
  - name: claude-only
    deployments:
      - { provider: anthropic, model: claude-sonnet-4-5, base_url: "${claude.baseUrl}" }
`,
  );
  // Anthropic has no logit_bias: only the Chat Completions relay can carry it.
  const logitBias = { "50256": -100 };
  for (let index = 0; index < 3; index += 1) {
    const response = await complete({ model: "mixed", logit_bias: logitBias });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("x-llm-deployment"), "mixed/relay");
  }
  assert.deepEqual(openai.requests[0].body.logit_bias, logitBias, "the field reached the model as sent");
  assert.equal(claude.requests.length, 0);
  // Without it, the weights decide again.
  assert.equal((await complete({ model: "mixed" })).headers.get("x-llm-deployment"), "mixed/claude");

  const refused = await complete({ model: "claude-only", logit_bias: logitBias });
  assert.equal(refused.status, 400);
  assert.equal(((await refused.json()) as { error: { param: string } }).error.param, "logit_bias");
  assert.equal(claude.requests.length, 1, "refused before any upstream call");
});

test("a feature a deployment's provider lacks (tools on echo) passes that deployment over too", async (t) => {
  const [openai] = await upstreams(t, 1);
  const { complete } = await startRoutingTestApp(
    t,
    `
models:
  - name: mixed
    deployments:
      - { id: echo, provider: echo, model: echo, weight: 1000 }
      - { id: relay, provider: openai, model: m, base_url: "${openai.baseUrl}" }
`,
  );
  const tools = [{ type: "function", function: { name: "lookup", parameters: { type: "object" } } }];
  const response = await complete({ model: "mixed", tools });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("x-llm-deployment"), "mixed/relay");
  assert.deepEqual(openai.requests[0].body.tools, tools);
  assert.equal((await complete({ model: "mixed" })).headers.get("x-llm-deployment"), "mixed/echo");
});

test("a model name outside visible ASCII is percent-encoded in x-llm-deployment, never a 500", async (t) => {
  const [openai] = await upstreams(t, 1);
  const { complete } = await startRoutingTestApp(
    t,
    `
models:
  - name: chat
    deployments:
      - { provider: openai, model: m, base_url: "${openai.baseUrl}" }
`,
  );
  const response = await complete({ model: "echo:modèle" });
  assert.equal(response.status, 200, await response.clone().text());
  assert.equal(response.headers.get("x-llm-deployment"), encodeURIComponent("echo:modèle/0"));
});
