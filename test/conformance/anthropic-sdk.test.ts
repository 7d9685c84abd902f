import assert from "node:assert/strict";
import { test } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import { startChatTestApp } from "../support/chat-test-app.ts";
import { checkMatrixRow } from "../support/check-matrix-row.ts";
import type { FakeLlmUpstream } from "../support/fake-llm-upstream.ts";
import {
  MESSAGES_FEATURES,
  MESSAGES_MATRIX,
  type MessagesFeature,
  type ProviderLabel,
} from "../support/openai-surface-matrix.ts";

/**
 * The `/v1/messages` rows of the matrix through the official `@anthropic-ai/sdk` client: relayed as
 * sent to `anthropic`, translated for the OpenAI-compatible upstreams and echo.
 */
type Context = { client: Anthropic; upstream: FakeLlmUpstream; model: string; label: ProviderLabel };

const WEATHER: Anthropic.Tool = {
  name: "weather",
  description: "The weather in a city",
  input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};
const LISBON = { id: "toolu_lisbon", name: "weather", arguments: '{"city":"Lisbon"}' };
const PIXEL = "iVBORw0KGgo=";
const ASK: Anthropic.MessageParam = { role: "user", content: "Weather in Lisbon?" };

function textOf(message: Anthropic.Message): string {
  return message.content.map((block) => (block.type === "text" ? block.text : "")).join("");
}

function expectReply(text: string, label: ProviderLabel) {
  if (label === "echo") assert.match(text, /You said: Weather in Lisbon\?/);
  else assert.equal(text, "Hello from the fake upstream.");
}

function toolUses(message: Anthropic.Message) {
  return message.content.flatMap((block) =>
    block.type === "tool_use" ? [{ id: block.id, name: block.name, input: block.input }] : [],
  );
}

const CHECKS: Record<MessagesFeature, (context: Context) => Promise<void>> = {
  async "/v1/messages JSON"({ client, model, label }) {
    const message = await client.messages.create({ model, max_tokens: 100, messages: [ASK] });
    expectReply(textOf(message), label);
    assert.equal(message.stop_reason, "end_turn");
    assert.ok(message.usage.output_tokens > 0);
  },
  async "/v1/messages stream"({ client, model, label }) {
    const stream = client.messages.stream({ model, max_tokens: 100, messages: [ASK] });
    let deltas = 0;
    stream.on("text", () => {
      deltas += 1;
    });
    const message = await stream.finalMessage();
    expectReply(textOf(message), label);
    assert.ok(deltas > 1, "the text arrived in pieces");
  },
  async "/v1/messages tool use"({ client, upstream, model }) {
    upstream.script({ toolCalls: [LISBON] });
    const message = await client.messages.create({
      model,
      max_tokens: 100,
      messages: [ASK],
      tools: [WEATHER],
    });
    assert.equal(message.stop_reason, "tool_use");
    assert.deepEqual(toolUses(message), [{ id: LISBON.id, name: "weather", input: { city: "Lisbon" } }]);
  },
  async "/v1/messages tool use, streamed"({ client, upstream, model }) {
    upstream.script({ toolCalls: [LISBON] });
    const stream = client.messages.stream({ model, max_tokens: 100, messages: [ASK], tools: [WEATHER] });
    let jsonDeltas = 0;
    stream.on("inputJson", () => {
      jsonDeltas += 1;
    });
    const message = await stream.finalMessage();
    assert.ok(jsonDeltas > 0, "the input arrived as input_json_delta events");
    assert.deepEqual(toolUses(message), [{ id: LISBON.id, name: "weather", input: { city: "Lisbon" } }]);
  },
  async "/v1/messages tool-result round trip"({ client, upstream, model, label }) {
    await client.messages.create({
      model,
      max_tokens: 100,
      tools: [WEATHER],
      messages: [
        ASK,
        {
          role: "assistant",
          content: [{ type: "tool_use", id: LISBON.id, name: "weather", input: { city: "Lisbon" } }],
        },
        {
          role: "user",
          content: [{ type: "tool_result", tool_use_id: LISBON.id, content: '{"celsius":21}' }],
        },
      ],
    });
    const sent = JSON.stringify(upstream.requests.at(-1)?.body.messages);
    assert.match(
      sent,
      label === "anthropic" ? /"tool_use_id":"toolu_lisbon"/ : /"tool_call_id":"toolu_lisbon"/,
    );
    assert.match(sent, /celsius/);
  },
  async "/v1/messages image"({ client, upstream, model, label }) {
    await client.messages.create({
      model,
      max_tokens: 100,
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "What is this?" },
            { type: "image", source: { type: "base64", media_type: "image/png", data: PIXEL } },
          ],
        },
      ],
    });
    const sent = JSON.stringify(upstream.requests.at(-1)?.body.messages);
    assert.match(sent, label === "anthropic" ? /"type":"image"/ : /"type":"image_url"/);
    assert.match(sent, new RegExp(PIXEL));
  },
};

for (const feature of MESSAGES_FEATURES) {
  test(`@anthropic-ai/sdk, ${feature}: each provider as the matrix says`, async (t) => {
    const { address, upstream } = await startChatTestApp(t, { withOllama: true });
    const client = new Anthropic({ baseURL: address, apiKey: "anything", maxRetries: 0 });
    await checkMatrixRow({
      feature,
      row: MESSAGES_MATRIX[feature],
      upstream,
      run: (label, model) => CHECKS[feature]({ client, upstream, model, label }),
      assertRefused(error, expected, label) {
        assert.ok(error instanceof Anthropic.APIError, `${label}: ${String(error)}`);
        assert.equal(error.status, 400, `${label}: ${error.message}`);
        const body = error.error as { type?: string; error?: { type?: string; message?: string } };
        assert.equal(body.error?.type, "invalid_request_error");
        assert.match(
          body.error?.message ?? "",
          new RegExp(`\`${expected}(\\.|\`)`),
          `${label}: names ${expected}`,
        );
      },
    });
  });
}
