import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { startJobWorker } from "../../src/jobs/start-job-worker.ts";
import { ADMIN_KEY } from "../support/access-test-app.ts";
import { buildTestApp } from "../support/build-test-app.ts";
import { startFakeLlmUpstream } from "../support/fake-llm-upstream.ts";
import { knowledgeStores } from "../support/knowledge-stores.ts";
import { waitFor } from "../support/wait-for.ts";

const STATIC = "static-canary-key-0123456789";
const HANDBOOK = "https://intranet.example/handbook";

type Context = { after: (callback: () => unknown) => void };
type Json = Record<string, unknown> & { error?: { code: string; message: string; type?: string } };

/**
 * The real app on a real port over one real knowledge store, with a job worker, the admin key, a
 * static `API_KEYS` key, and the `openai` provider pointed at a fake upstream that records what
 * grounding sent it.
 */
async function startOwnershipApp(t: Context, openStore: (typeof knowledgeStores)["SQLite"]) {
  const { store, destroy } = await openStore();
  const upstream = await startFakeLlmUpstream();
  const { app, config, services } = await buildTestApp({
    environment: {
      ADMIN_API_KEY: ADMIN_KEY,
      API_KEYS: STATIC,
      LLM_MODEL: "openai:fake-model",
      OPENAI_BASE_URL: upstream.baseUrl,
      OPENAI_API_KEY: "sk-test-openai",
      LLM_MAX_RETRIES: "0",
    },
    knowledgeStore: store,
  });
  const worker = startJobWorker({
    config,
    jobQueue: app.jobQueue,
    knowledgeStore: app.knowledgeStore,
    uploads: services.uploads,
    logger: app.log as never,
  });
  const address = await app.listen({ port: 0, host: "127.0.0.1" });
  t.after(async () => {
    await worker.stop({ timeoutMs: 0 });
    await upstream.close();
    await app.close();
    await destroy();
  });

  const call = async (method: string, url: string, key: string, body?: unknown) => {
    const response = await fetch(`${address}${url}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined || body instanceof FormData ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : body instanceof FormData ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: (text === "" ? {} : JSON.parse(text)) as Json, text };
  };
  const createKey = async (body: Record<string, unknown>) => {
    const created = await call("POST", "/admin/keys", ADMIN_KEY, body);
    assert.equal(created.status, 201, created.text);
    return created.body as { id: string; key: string };
  };
  /** Ingests with `key` and waits for the job; answers the document's id. */
  const ingest = async (key: string, body: Record<string, unknown> | FormData) => {
    const queued = await call("POST", "/ingest", key, body);
    assert.equal(queued.status, 202, queued.text);
    const jobId = (queued.body.job_id ?? (queued.body.jobs as { job_id: string }[])[0].job_id) as string;
    const done = await waitFor(`job ${jobId}`, async () => {
      const status = await call("GET", `/status/${jobId}`, key);
      return status.body.status === "completed" || status.body.status === "failed" ? status.body : undefined;
    });
    assert.equal(done.status, "completed", JSON.stringify(done));
    return (done.result as { document_id: string }).document_id;
  };
  const upload = (name: string, text: string, collection?: string) => {
    const form = new FormData();
    if (collection !== undefined) form.append("collection", collection);
    form.append("file", new Blob([text], { type: "text/plain" }), name);
    return form;
  };
  const listed = async (key: string, query = "") => {
    const page = await call("GET", `/knowledge/documents${query}`, key);
    assert.equal(page.status, 200, page.text);
    return (page.body.documents as { document_id: string }[]).map((document) => document.document_id).sort();
  };
  const searched = async (key: string, query: string) => {
    const found = await call("GET", `/knowledge/search?q=${encodeURIComponent(query)}`, key);
    assert.equal(found.status, 200, found.text);
    return [
      ...new Set((found.body.results as { document_id: string }[]).map((hit) => hit.document_id)),
    ].sort();
  };
  return { upstream, call, createKey, ingest, upload, listed, searched };
}

for (const [name, openStore] of Object.entries(knowledgeStores)) {
  describe(`documents and collections belong to virtual keys, on ${name}`, () => {
    test("another key, a static key and grounded chat never see a key's documents; the admin key sees, searches and deletes them", async (t) => {
      const { upstream, call, createKey, ingest, upload, listed, searched } = await startOwnershipApp(
        t,
        openStore,
      );
      const [alice, bob] = [await createKey({ name: "alice" }), await createKey({ name: "bob" })];
      const aliceJson = await ingest(alice.key, {
        source: HANDBOOK,
        text: "The Lisbon office opens at nine and closes at five.",
      });
      const aliceUpload = await ingest(
        alice.key,
        upload("parking.txt", "Parking is free behind the Lisbon office."),
      );
      // The same URL by another key: its own document, which must not replace alice's.
      const bobJson = await ingest(bob.key, { source: HANDBOOK, text: "The Porto office opens at ten." });

      assert.deepEqual(await listed(alice.key), [aliceJson, aliceUpload].sort());
      assert.deepEqual(await listed(bob.key), [bobJson]);
      assert.deepEqual(await listed(STATIC), [], "an API_KEYS key owns nothing of theirs");
      assert.deepEqual(await listed(ADMIN_KEY), [aliceJson, aliceUpload, bobJson].sort());
      const adminPage = await call("GET", "/knowledge/documents", ADMIN_KEY);
      const sources = (adminPage.body.documents as { source: string; owner: string | null }[])
        .filter((document) => document.source === HANDBOOK)
        .map((document) => document.owner)
        .sort();
      assert.deepEqual(sources, [alice.id, bob.id].sort(), "both keys' documents of the same URL are kept");

      assert.deepEqual(await searched(alice.key, "Lisbon office"), [aliceJson, aliceUpload].sort());
      assert.deepEqual(await searched(bob.key, "Lisbon office"), [bobJson], "only its own: Porto's office");
      assert.deepEqual(await searched(STATIC, "Lisbon office"), []);
      assert.deepEqual(await searched(ADMIN_KEY, "Lisbon office"), [aliceJson, aliceUpload, bobJson].sort());

      // Grounded chat on two surfaces: bob's model call carries none of alice's text.
      const chat = await call("POST", "/chat", bob.key, {
        message: "When does the Lisbon office open?",
        knowledge: true,
      });
      assert.equal(chat.status, 200, chat.text);
      assert.deepEqual(
        (chat.body.sources as { document_id: string }[]).map((source) => source.document_id),
        [bobJson],
      );
      const completion = await call("POST", "/v1/chat/completions", bob.key, {
        messages: [{ role: "user", content: "Where is parking near the Lisbon office?" }],
        knowledge: true,
      });
      assert.equal(completion.status, 200, completion.text);
      const groundedForAlice = await call("POST", "/chat", alice.key, {
        message: "Where is parking near the Lisbon office?",
        knowledge: true,
      });
      assert.ok(
        (groundedForAlice.body.sources as { document_id: string }[]).some(
          (source) => source.document_id === aliceUpload,
        ),
        "the owner's own grounding finds it",
      );
      const sent = upstream.requests.map((request) => JSON.stringify(request.body.messages));
      assert.equal(sent.length, 3);
      for (const messages of sent.slice(0, 2)) {
        assert.match(messages, /Porto office opens at ten/);
        assert.doesNotMatch(messages, /nine and closes|Parking is free/);
      }
      assert.match(sent[2], /Parking is free/);

      for (const stranger of [bob.key, STATIC]) {
        for (const id of [aliceJson, aliceUpload]) {
          const refused = await call("DELETE", `/knowledge/documents/${id}`, stranger);
          assert.equal(refused.status, 404, refused.text);
          assert.equal(refused.body.error?.code, "NOT_FOUND");
        }
      }
      assert.deepEqual(await listed(alice.key), [aliceJson, aliceUpload].sort(), "nothing was deleted");
      assert.equal((await call("DELETE", `/knowledge/documents/${aliceUpload}`, ADMIN_KEY)).status, 204);
      assert.equal((await call("DELETE", `/knowledge/documents/${aliceJson}`, alice.key)).status, 204);
      assert.deepEqual(await listed(ADMIN_KEY), [bobJson]);
    });

    test("a key limited to collections gets 403 COLLECTION_NOT_ALLOWED naming any other, on ingest, search, list and grounding", async (t) => {
      const { call, createKey, ingest, upload, listed } = await startOwnershipApp(t, openStore);
      const key = await createKey({ name: "hr-only" });
      // Written before the limit: a document of its own in `default`, which the limit then hides.
      const before = await ingest(key.key, { source: "welcome.txt", text: "Welcome to the company." });
      const limited = await call("PATCH", `/admin/keys/${key.id}`, ADMIN_KEY, { collections: ["hr"] });
      assert.equal(limited.status, 200, limited.text);
      assert.deepEqual(limited.body.collections, ["hr"]);
      assert.deepEqual((await call("GET", `/admin/keys/${key.id}`, ADMIN_KEY)).body.collections, ["hr"]);

      const refusals = {
        "ingest without collection": await call("POST", "/ingest", key.key, {
          source: "a.txt",
          text: "Holidays.",
        }),
        "ingest into default": await call("POST", "/ingest", key.key, {
          source: "a.txt",
          text: "Holidays.",
          collection: "default",
        }),
        "upload without collection": await call("POST", "/ingest", key.key, upload("a.txt", "Holidays.")),
        "upload into default": await call(
          "POST",
          "/ingest",
          key.key,
          upload("a.txt", "Holidays.", "default"),
        ),
        search: await call("GET", "/knowledge/search?q=holidays", key.key),
        "search of default": await call("GET", "/knowledge/search?q=holidays&collection=default", key.key),
        "list of default": await call("GET", "/knowledge/documents?collection=default", key.key),
        "/chat": await call("POST", "/chat", key.key, { message: "Holidays?", knowledge: true }),
        "/chat/stream": await call("POST", "/chat/stream", key.key, {
          message: "Holidays?",
          knowledge: { collection: "default" },
        }),
        "/chat/stream-text": await call("POST", "/chat/stream-text", key.key, {
          message: "Holidays?",
          knowledge: { limit: 2 },
        }),
      };
      for (const [what, refused] of Object.entries(refusals)) {
        assert.equal(refused.status, 403, `${what}: ${refused.text}`);
        assert.equal(refused.body.error?.code, "COLLECTION_NOT_ALLOWED", what);
        assert.match(refused.body.error?.message ?? "", /collection default\b/, what);
      }
      const openai = await call("POST", "/v1/chat/completions", key.key, {
        messages: [{ role: "user", content: "Holidays?" }],
        knowledge: true,
      });
      assert.equal(openai.status, 403, openai.text);
      assert.equal(openai.body.error?.code, "collection_not_allowed");
      assert.equal(openai.body.error?.type, "permission_error");
      assert.match(openai.body.error?.message ?? "", /collection default\b/);

      const hrJson = await ingest(key.key, {
        source: "leave.txt",
        text: "Holidays are booked with HR.",
        collection: "hr",
      });
      const hrUpload = await ingest(
        key.key,
        upload("sick.txt", "Sick days need a note after three days.", "hr"),
      );
      const found = await call("GET", "/knowledge/search?q=holidays&collection=hr", key.key);
      assert.equal(found.status, 200, found.text);
      assert.deepEqual(
        (found.body.results as { document_id: string }[]).map((hit) => hit.document_id),
        [hrJson],
      );
      assert.deepEqual(await listed(key.key, "?collection=hr"), [hrJson, hrUpload].sort());
      assert.deepEqual(
        await listed(key.key),
        [hrJson, hrUpload].sort(),
        "its default document is not listed",
      );
      const grounded = await call("POST", "/chat", key.key, {
        message: "How are holidays booked?",
        knowledge: { collection: "hr" },
      });
      assert.equal(grounded.status, 200, grounded.text);
      assert.deepEqual(
        (grounded.body.sources as { document_id: string }[]).map((source) => source.document_id),
        [hrJson],
      );

      // `null` clears the limit: the default collection (and the old document) are back.
      const cleared = await call("PATCH", `/admin/keys/${key.id}`, ADMIN_KEY, { collections: null });
      assert.equal(cleared.body.collections, null);
      await waitFor("the key cache to see the change", async () =>
        (await call("GET", "/knowledge/search?q=welcome", key.key)).status === 200 ? true : undefined,
      );
      assert.deepEqual(await listed(key.key), [before, hrJson, hrUpload].sort());
    });

    test("collections on a key are checked names: a bad one is 400, and GET /admin/keys shows the list", async (t) => {
      const { call, createKey } = await startOwnershipApp(t, openStore);
      const bad = await call("POST", "/admin/keys", ADMIN_KEY, { name: "x", collections: ["no spaces"] });
      assert.equal(bad.status, 400, bad.text);
      assert.equal(bad.body.error?.code, "VALIDATION_FAILED");
      const key = await createKey({ name: "sales", collections: ["sales", "default"] });
      const all = await call("GET", "/admin/keys", ADMIN_KEY);
      const shown = (all.body.data as { id: string; collections: string[] | null }[]).find(
        (listedKey) => listedKey.id === key.id,
      );
      assert.deepEqual(shown?.collections, ["sales", "default"]);
      const unlimited = await createKey({ name: "any" });
      assert.equal((await call("GET", `/admin/keys/${unlimited.id}`, ADMIN_KEY)).body.collections, null);
      const search = await call("GET", "/knowledge/search?q=anything", key.key);
      assert.equal(search.status, 200, "`default` is allowed when listed");
    });
  });
}
