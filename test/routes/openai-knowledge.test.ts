import assert from "node:assert/strict";
import { test } from "node:test";
import { startChatTestApp } from "../support/chat-test-app.ts";
import { parseSse } from "../support/sse-parser.ts";

type Message = { role: string; content: string };
type Source = { id: number; source: string; page?: number };

async function groundedApp(t: { after: (callback: () => unknown) => void }) {
  const chat = await startChatTestApp(t);
  const store = chat.app.knowledgeStore;
  await store.beginDocument({
    id: "doc_boiler",
    collection: "manuals",
    source: "boiler.pdf",
    contentType: "application/pdf",
    bytes: 10,
    characters: 10,
    jobId: "boiler",
  });
  await store.appendChunks("doc_boiler", 0, [
    { text: "To reset the boiler, hold the reset button for five seconds.", page: 3 },
  ]);
  await store.publishDocument("doc_boiler");
  return chat;
}

test("/v1/chat/completions with the knowledge extension: the relayed body is grounded, the answer carries sources", async (t) => {
  const { post, upstream } = await groundedApp(t);
  const response = await post("/v1/chat/completions", {
    model: "fake-model",
    messages: [
      { role: "developer", content: "Be brief." },
      { role: "user", content: "How do I reset the boiler?" },
    ],
    knowledge: { collection: "manuals" },
  });
  assert.equal(response.status, 200);
  const body = (await response.json()) as { choices: unknown[]; sources: Source[] };
  assert.equal(body.choices.length, 1);
  assert.deepEqual(
    body.sources.map((source) => [source.id, source.source, source.page]),
    [[1, "boiler.pdf", 3]],
  );
  const sent = upstream.requests[0].body;
  assert.equal("knowledge" in sent, false, "the extension never reaches the upstream");
  const messages = sent.messages as Message[];
  assert.deepEqual(
    messages.map((message) => message.role),
    ["developer", "system", "user"],
  );
  assert.match(messages[1].content, /<excerpt id="1" source="boiler\.pdf" page="3" chunk="0">/);
});

test("streamed, grounded: a last chunk without choices carries the sources before [DONE]", async (t) => {
  const { post } = await groundedApp(t);
  const response = await post("/v1/chat/completions", {
    model: "fake-model",
    stream: true,
    messages: [{ role: "user", content: "reset the boiler" }],
    knowledge: { collection: "manuals", limit: 2 },
  });
  const { events } = parseSse(await response.text());
  assert.equal(events.at(-1)?.data, "[DONE]");
  const last = JSON.parse(events.at(-2)?.data ?? "{}") as { choices: unknown[]; sources?: Source[] };
  assert.deepEqual(last.choices, []);
  assert.deepEqual(
    last.sources?.map((source) => [source.source, source.page]),
    [["boiler.pdf", 3]],
  );
});

test("through the AI SDK (echo), knowledge is taken, not refused as an unknown field; without it, no sources", async (t) => {
  const { post } = await groundedApp(t);
  const grounded = await post("/v1/chat/completions", {
    model: "echo",
    messages: [{ role: "user", content: "reset the boiler" }],
    knowledge: { collection: "manuals" },
  });
  assert.equal(grounded.status, 200);
  assert.equal(((await grounded.json()) as { sources: Source[] }).sources[0].page, 3);
  const plain = await post("/v1/chat/completions", {
    model: "echo",
    messages: [{ role: "user", content: "reset the boiler" }],
  });
  assert.equal("sources" in ((await plain.json()) as object), false);
});
