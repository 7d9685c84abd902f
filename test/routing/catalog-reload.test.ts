import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";

import { startFakeLlmUpstream } from "../support/fake-llm-upstream.ts";
import { runConcurrently, startRoutingTestApp } from "../support/routing-test-app.ts";
import { startServerProcess } from "../support/start-server-process.ts";
import { waitFor } from "../support/wait-for.ts";

type After = { after: (fn: () => unknown) => void };

async function fakes(t: After, count: number) {
  const started = await Promise.all(Array.from({ length: count }, () => startFakeLlmUpstream()));
  t.after(() => Promise.all(started.map((upstream) => upstream.close())));
  return started;
}

const modelOn = (baseUrl: string, id: string) => `
models:
  - name: chat
    deployments:
      - { id: ${id}, provider: openai, model: m, base_url: "${baseUrl}" }
`;

test("reload: a good new file changes the routing within 2 s without dropping a request; a bad one changes nothing and is reported", async (t) => {
  const [a, b] = await fakes(t, 2);
  // Slow answers, so some are in flight on a when the file changes: they must finish there.
  a.script({ firstChunkDelayMs: 200 });
  const { complete, rewrite, metric, logs, services } = await startRoutingTestApp(t, modelOn(a.baseUrl, "a"));

  let stop = false;
  const statuses: number[] = [];
  const load = Promise.all(
    Array.from({ length: 6 }, async () => {
      while (!stop) {
        const response = await complete({ model: "chat" });
        await response.text();
        statuses.push(response.status);
      }
    }),
  );
  // A failed assertion must not leave the load running.
  t.after(() => {
    stop = true;
  });
  await waitFor("requests in flight on a", () => a.inFlight > 0);
  rewrite(modelOn(b.baseUrl, "b"));
  const changedAt = Date.now();
  await waitFor("b to be routed to", () => b.requests.length > 0, { timeoutMs: 5000 });
  const switchedMs = Date.now() - changedAt;
  assert.ok(switchedMs < 2000, `the change was picked up after ${switchedMs} ms`);
  await waitFor("a few more answers from b", () => b.requests.length >= 20);
  const onAAfterSwitch = a.requests.length;

  // A bad file: nothing changes, the problem is logged in its one line and counted.
  rewrite(modelOn(b.baseUrl, "b").replace("provider: openai", "provider: azure"));
  await waitFor(
    "the failed reload to be counted",
    async () => (await metric("llm_api_catalog_reloads_total", { result: "failure" })) === 1,
    {
      timeoutMs: 5000,
    },
  );
  const fromB = b.requests.length;
  await waitFor("b to keep serving", () => b.requests.length >= fromB + 10);
  stop = true;
  await load;

  assert.ok(statuses.length > 30);
  assert.deepEqual(new Set(statuses), new Set([200]), "no request failed or was dropped");
  assert.ok(
    a.requests.every((request) => !request.aborted),
    "requests in flight on a finished there",
  );
  assert.equal(a.requests.length, onAAfterSwitch, "after the reload nothing more went to a");
  assert.ok((await metric("llm_api_catalog_reloads_total", { result: "success" })) >= 1);
  const problem = logs
    .lines()
    .find((line) => typeof line.msg === "string" && line.msg.startsWith("models file not reloaded"));
  assert.ok(problem !== undefined, "the failed reload is logged");
  assert.match(
    String(problem.msg),
    /models\[0\]\.deployments\[0\]\.provider: must be one of openai, anthropic, ollama, echo, got "azure"$/,
  );

  // SIGHUP does the same as a change, on demand.
  assert.equal(services.catalogReloader?.reload("SIGHUP"), false);
  rewrite(modelOn(a.baseUrl, "a-again"));
  assert.equal(services.catalogReloader?.reload("SIGHUP"), true);
  const before = a.requests.length;
  assert.equal((await complete({ model: "chat" })).headers.get("x-llm-deployment"), "chat/a-again");
  assert.equal(a.requests.length, before + 1);
});

test("a reload keeps the cooldown of a deployment that is still there", async (t) => {
  const [a, b] = await fakes(t, 2);
  a.script({ status: 503 }, {});
  const file = (extra: string) => `
router: { cooldown: { initial_ms: 60000, max_ms: 60000 } }
models:
  - name: chat
    deployments:
      - { id: a, provider: openai, model: m, base_url: "${a.baseUrl}" }
      - { id: b, provider: openai, model: m, base_url: "${b.baseUrl}" }
${extra}`;
  const { complete, rewrite, services } = await startRoutingTestApp(t, file(""));
  assert.equal((await complete({ model: "chat" })).headers.get("x-llm-deployment"), "chat/b");
  rewrite(file("  - name: other\n    deployments: [{ provider: echo }]\n"));
  assert.equal(services.catalogReloader?.reload("test"), true);
  for (let index = 0; index < 5; index += 1) {
    assert.equal((await complete({ model: "chat" })).headers.get("x-llm-deployment"), "chat/b");
  }
  assert.equal(a.requests.length, 1, "a is still cooling down after the reload");
});

test("a LiteLLM config.yaml with three entries and a fallback routes the same way", async (t) => {
  const [a, b, claude] = await fakes(t, 3);
  const { complete, metric, logs } = await startRoutingTestApp(
    t,
    `
model_list:
  - model_name: chat
    litellm_params: { model: openai/model-a, api_base: "${a.baseUrl}", api_key: os.environ/ROUTING_TEST_KEY, weight: 3 }
  - model_name: chat
    litellm_params: { model: hosted_vllm/model-b, api_base: "${b.baseUrl}", weight: 1, tpm: 1000 }
  - model_name: claude
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${claude.baseUrl}", api_key: sk-ant-test }
router_settings:
  fallbacks: [{ chat: [claude] }]
`,
    { MODELS_FILE_NAME: "config.yaml", ROUTING_TEST_KEY: "sk-from-the-environment" },
  );
  const statuses = await runConcurrently(400, 8, async () => (await complete({ model: "chat" })).status);
  assert.deepEqual(new Set(statuses), new Set([200]));
  assert.ok(Math.abs(a.requests.length / 400 - 0.75) <= 0.05, `a took ${a.requests.length} of 400`);
  assert.equal(a.requests.length + b.requests.length, 400);
  assert.equal(a.requests[0].headers.authorization, "Bearer sk-from-the-environment");
  assert.equal(b.requests[0].body.model, "model-b");

  a.script({ status: 500 });
  b.script({ status: 502 });
  const fallen = await complete({ model: "chat" });
  assert.equal(fallen.status, 200);
  assert.equal(fallen.headers.get("x-llm-deployment"), "claude/0");
  assert.equal(claude.requests.length, 1);
  assert.equal(await metric("llm_api_fallbacks_total", { model: "chat", fallback: "claude" }), 1);
  const warnings = logs
    .lines()
    .filter((line) => String(line.msg).includes("LiteLLM keys this service does not support"));
  assert.equal(warnings.length, 1);
  assert.match(String(warnings[0].msg), /are ignored: model_list\[1\]\.litellm_params\.tpm$/);
});

test("SIGHUP makes the server process read the models file again, and it keeps serving", async (t) => {
  const folder = mkdtempSync(path.join(tmpdir(), "llm-api-sighup-"));
  const file = path.join(folder, "models.yaml");
  writeFileSync(file, "models:\n  - name: chat\n    deployments: [{ id: first, provider: echo }]\n");
  const server = await startServerProcess({
    args: ["src/server.ts"],
    environment: { MODELS_FILE: file, DATA_DIR: folder, ECHO_DELAY_MS: "0" },
    stderr: "collect",
  });
  t.after(() => {
    server.child.kill("SIGKILL");
  });
  const served = async () =>
    (
      await fetch(`${server.address}/chat`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ message: "Hi", model: "chat" }),
      })
    ).headers.get("x-llm-deployment");
  assert.equal(await served(), "chat/first");
  server.child.kill("SIGHUP");
  await waitFor("the SIGHUP reload to be logged", () =>
    /"reason":"SIGHUP".*"msg":"models file reloaded"/.test(server.output()),
  );
  writeFileSync(file, "models:\n  - name: chat\n    deployments: [{ id: again, provider: echo }]\n");
  server.child.kill("SIGHUP");
  await waitFor("the new deployment to serve", async () => (await served()) === "chat/again");
  assert.equal(server.child.exitCode, null, "still running");
});
