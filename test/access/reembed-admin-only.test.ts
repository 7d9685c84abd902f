import assert from "node:assert/strict";
import { test } from "node:test";
import { ADMIN_KEY, startAccessTestApp } from "../support/access-test-app.ts";
import { buildTestApp } from "../support/build-test-app.ts";
import { startFakeLlmUpstream } from "../support/fake-llm-upstream.ts";

const STATIC_KEY = "static-reembed-key-0123456789";

test("POST /knowledge/reembed is the admin key's: a virtual key gets 403 and queues nothing, the admin and API_KEYS keys start it", async (t) => {
  const app = await startAccessTestApp(t, {
    environment: { API_KEYS: STATIC_KEY, EMBEDDINGS_MODEL: "openai:fake-embedding" },
  });
  const virtual = await app.createKey({ name: "team-a" });
  const reembed = (key: string) => app.post("/knowledge/reembed", key, {});
  const reembedJobs = async () => {
    const response = await fetch(`${app.address}/jobs?limit=100`, { headers: app.bearer(ADMIN_KEY) });
    const body = (await response.json()) as { jobs: { source: string }[] };
    return body.jobs.filter((job) => job.source === "openai:fake-embedding").length;
  };

  const refused = await reembed(virtual.key);
  assert.equal(refused.status, 403);
  const error = ((await refused.json()) as { error: { code: string; message: string; request_id: string } })
    .error;
  assert.equal(error.code, "FORBIDDEN");
  assert.match(error.message, /admin key/);
  assert.equal(error.request_id, refused.headers.get("x-request-id"));
  assert.equal(await reembedJobs(), 0, "the refused call queued no job");

  for (const key of [ADMIN_KEY, STATIC_KEY]) {
    const accepted = await reembed(key);
    assert.equal(accepted.status, 202, await accepted.clone().text());
    const { job_id } = (await accepted.json()) as { job_id: string };
    assert.equal(accepted.headers.get("location"), `/status/${job_id}`);
  }
  assert.equal(await reembedJobs(), 2);
});

test("in open mode (no keys at all) anyone may start POST /knowledge/reembed", async (t) => {
  const upstream = await startFakeLlmUpstream();
  t.after(() => upstream.close());
  const { app } = await buildTestApp({
    environment: {
      OPENAI_BASE_URL: upstream.baseUrl,
      OPENAI_API_KEY: "sk-test-openai",
      EMBEDDINGS_MODEL: "openai:fake-embedding",
    },
  });
  t.after(() => app.close());
  const address = await app.listen({ port: 0, host: "127.0.0.1" });
  const accepted = await fetch(`${address}/knowledge/reembed`, { method: "POST" });
  assert.equal(accepted.status, 202, await accepted.clone().text());
});
