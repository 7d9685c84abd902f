import assert from "node:assert/strict";
import { test } from "node:test";
import { startFakeLlmUpstream } from "../support/fake-llm-upstream.ts";
import { startRoutingTestApp } from "../support/routing-test-app.ts";

test("/v1/embeddings routes a catalog model too: failover, the deployment's model id, and the flagged default", async (t) => {
  const [a, b] = await Promise.all([startFakeLlmUpstream(), startFakeLlmUpstream()]);
  t.after(() => Promise.all([a.close(), b.close()]));
  a.script({ status: 503 });
  const { post } = await startRoutingTestApp(
    t,
    `
models:
  - name: chat
    deployments: [{ provider: echo }]
  - name: embed
    embeddings: true
    deployments:
      - { id: a, provider: openai, model: embed-a, base_url: "${a.baseUrl}" }
      - { id: b, provider: openai, model: embed-b, base_url: "${b.baseUrl}" }
  - name: claude-only
    deployments: [{ provider: anthropic, model: claude-sonnet-4-5, base_url: "${a.baseUrl}" }]
`,
  );
  const named = await post("/v1/embeddings", { model: "embed", input: ["x", "y"] });
  assert.equal(named.status, 200);
  assert.equal(named.headers.get("x-llm-deployment"), "embed/b");
  assert.equal(named.headers.get("x-llm-attempts"), "2");
  assert.equal(b.requests[0].path, "/v1/embeddings");
  assert.deepEqual(b.requests[0].body, { model: "embed-b", input: ["x", "y"] });
  assert.equal(((await named.json()) as { data: unknown[] }).data.length, 2);

  // No model named: the catalog's model flagged `embeddings: true` (a is cooling down by now).
  const unnamed = await post("/v1/embeddings", { input: "z" });
  assert.equal(unnamed.status, 200);
  assert.equal(unnamed.headers.get("x-llm-deployment"), "embed/b");
  assert.equal(a.requests.length, 1);

  const refused = await post("/v1/embeddings", { model: "claude-only", input: "z" });
  assert.equal(refused.status, 400);
  assert.equal(((await refused.json()) as { error: { param: string } }).error.param, "model");
});
