import assert from "node:assert/strict";
import { test } from "node:test";
import { startChatTestApp } from "../support/chat-test-app.ts";
import { parseSse } from "../support/sse-parser.ts";

type Message = { role: string; content: string };
type Source = {
  id: number;
  document_id: string;
  source: string;
  title?: string;
  chunk_index: number;
  page?: number;
};

/** The chat app with a two-page manual in the `manuals` collection, stored as an ingested PDF is. */
async function manualsApp(t: { after: (callback: () => unknown) => void }) {
  const chat = await startChatTestApp(t);
  const store = chat.app.knowledgeStore;
  await store.beginDocument({
    id: "doc_boiler",
    collection: "manuals",
    source: "boiler.pdf",
    title: "Boiler manual",
    contentType: "application/pdf",
    bytes: 2000,
    characters: 120,
    jobId: "boiler",
  });
  await store.appendChunks("doc_boiler", 0, [
    { text: "Safety first: switch the boiler off at the mains.", page: 1 },
    { text: "To reset the boiler, hold the reset button for five seconds.", page: 2 },
  ]);
  await store.publishDocument("doc_boiler");
  return chat;
}

test("grounded /chat numbers its passages, names page and title in the prompt and in sources, and searches the named collection", async (t) => {
  const { post, upstream } = await manualsApp(t);
  const response = await post("/chat", {
    message: "How do I reset the boiler?",
    knowledge: { collection: "manuals", limit: 2 },
  });
  assert.equal(response.status, 200);
  const { sources } = (await response.json()) as { sources: Source[] };
  assert.deepEqual(
    sources.map((source) => [source.id, source.source, source.title, source.page]),
    [
      [1, "boiler.pdf", "Boiler manual", 2],
      [2, "boiler.pdf", "Boiler manual", 1],
    ],
  );
  const context = (upstream.requests[0].body.messages as Message[])[0].content;
  assert.match(
    context,
    /<excerpt id="1" source="boiler\.pdf" title="Boiler manual" page="2" chunk="1">\nTo reset the boiler/,
  );
  assert.match(context, /<excerpt id="2" source="boiler\.pdf" title="Boiler manual" page="1" chunk="0">/);
  assert.match(context, /cite each one you use by its number in square brackets/);
  assert.match(context, /say plainly that the knowledge base does not cover it/);

  // The default collection holds nothing of it: no context, no sources.
  const elsewhere = await post("/chat", { message: "How do I reset the boiler?", knowledge: true });
  assert.deepEqual(((await elsewhere.json()) as { sources: Source[] }).sources, []);
  assert.equal((upstream.requests[1].body.messages as Message[]).length, 1);
});

test("/chat/stream sends the sources with their pages before the text; a bad collection is a 400", async (t) => {
  const { post } = await manualsApp(t);
  const response = await post("/chat/stream", {
    message: "reset the boiler",
    knowledge: { collection: "manuals", limit: 1 },
  });
  const { events } = parseSse(await response.text());
  const sources = events.find((event) => event.event === "sources");
  assert.ok(sources, "an event: sources frame");
  assert.deepEqual(
    (JSON.parse(sources.data) as { sources: Source[] }).sources.map((source) => [source.id, source.page]),
    [[1, 2]],
  );
  const refused = await post("/chat", { message: "x", knowledge: { collection: "../other" } });
  assert.equal(refused.status, 400);
  assert.match(((await refused.json()) as { error: { message: string } }).error.message, /body\.knowledge/);
});
