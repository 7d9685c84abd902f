// LangChain's ChatAnthropic pointed at the service's base URL, as a LangChain user would: a plain
// call and a tool call, on the native relay (anthropic) and on a translated OpenAI-compatible model.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ChatAnthropic } from "@langchain/anthropic";
import { tool } from "@langchain/core/tools";
import { z } from "zod";
import { startChatTestApp } from "../support/chat-test-app.ts";

const weather = tool(async ({ city }: { city: string }) => `sunny in ${city}`, {
  name: "weather",
  description: "The weather in a city",
  schema: z.object({ city: z.string() }),
});

for (const model of ["anthropic:claude-sonnet-4-5", "openai:fake-model"]) {
  test(`${model}: a plain call and a tool call through ChatAnthropic`, async (t) => {
    const { address, upstream } = await startChatTestApp(t);
    const chat = new ChatAnthropic({ model, anthropicApiUrl: address, apiKey: "client-key", maxRetries: 0 });
    upstream.script({ deltas: ["Hello", " from LangChain"] });
    const reply = await chat.invoke("hi");
    assert.equal(reply.content, "Hello from LangChain");

    upstream.script({ toolCalls: [{ id: "call_1", name: "weather", arguments: '{"city":"Lisbon"}' }] });
    const called = await chat.bindTools([weather]).invoke("Weather in Lisbon?");
    assert.deepEqual(
      called.tool_calls?.map(({ id, name, args }) => ({ id, name, args })),
      [{ id: "call_1", name: "weather", args: { city: "Lisbon" } }],
    );
    const sent = upstream.requests[1];
    assert.equal(sent.path, model.startsWith("anthropic") ? "/v1/messages" : "/v1/chat/completions");
    const names = (sent.body.tools as { name?: string; function?: { name: string } }[]).map(
      (declared) => declared.name ?? declared.function?.name,
    );
    assert.deepEqual(names, ["weather"]);
  });
}
