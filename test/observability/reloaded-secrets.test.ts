// A models file reload can bring deployments with keys the service did not have at boot: from the
// moment they serve, they are secrets like the boot-time ones, in logs and in error bodies.
import assert from "node:assert/strict";
import { test } from "node:test";
import { startFakeLlmUpstream } from "../support/fake-llm-upstream.ts";
import { startRoutingTestApp } from "../support/routing-test-app.ts";
import { waitFor } from "../support/wait-for.ts";

/** Not shaped like an `sk-` key, so only the configured-secret list can catch it. */
const CANARY = "reload-canary-key-3f9a2c71e5b8";

const withDeployments = (deployments: string) => `
models:
  - name: chat
    deployments:
${deployments}
`;

test("keys of a reloaded models file are scrubbed from every log line and error body", async (t) => {
  const upstream = await startFakeLlmUpstream();
  t.after(() => upstream.close());
  const { complete, post, rewrite, logs, services, address } = await startRoutingTestApp(
    t,
    withDeployments("      - { id: local, provider: echo }"),
    { LOG_LEVEL: "info" },
  );
  rewrite(
    withDeployments(
      `      - { id: keyed, provider: openai, model: m, base_url: "${upstream.baseUrl}", api_key: "${CANARY}" }`,
    ),
  );
  await waitFor("the reloaded catalog to serve", () =>
    services.router.catalog?.models[0]?.deployments.some((deployment) => deployment.apiKey === CANARY),
  );

  // A careless upstream that quotes the key it was sent, in a 401 the caller gets back.
  upstream.script({ status: 401, errorMessage: `Incorrect API key provided: ${CANARY}` });
  const refusedUpstream = await complete({ model: "chat" });
  const refusedBody = await refusedUpstream.text();
  assert.equal(upstream.requests.at(-1)?.headers.authorization, `Bearer ${CANARY}`, "the new key is in use");
  const asModel = await post("/chat", { message: "Hi", model: CANARY });
  const asModelBody = (await asModel.json()) as { error: { code: string; message: string } };
  const asPath = await fetch(`${address}/no-such-route/${CANARY}`);
  const asPathBody = await asPath.text();

  // No model has that name: the 400 quotes the name it was given, with the key blanked out.
  assert.equal(asModel.status, 400);
  assert.equal(asModelBody.error.code, "UNKNOWN_MODEL");
  assert.match(asModelBody.error.message, /\[redacted\]/);
  assert.equal(asPath.status, 404);
  for (const [where, text] of Object.entries({
    "the upstream's refusal": refusedBody,
    "the unknown-model refusal": JSON.stringify(asModelBody),
    "the 404": asPathBody,
  })) {
    assert.ok(!text.includes(CANARY), `the canary appears in ${where}: ${text}`);
  }
  // The refused call's log line quotes the upstream's message, where the key was blanked out.
  const refusal = logs.lines().find((line) => line.code === "UPSTREAM_AUTH_FAILED");
  assert.ok(refusal, "the refused call is logged");
  assert.match(JSON.stringify(refusal), /\[REDACTED\]/);
  const leaking = logs.lines().filter((line) => JSON.stringify(line).includes(CANARY));
  assert.deepEqual(leaking, [], "no log line carries the reloaded key");
  assert.match(logs.text(), /models file reloaded/);
});
