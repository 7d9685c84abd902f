import assert from "node:assert/strict";
import { test } from "node:test";
import { createEchoEmbeddingModel, hashedEmbedding } from "../../src/llm/echo-embedding-model.ts";
import { readEmbeddingsSummary } from "../../src/llm/read-embeddings-summary.ts";

test("readEmbeddingsSummary finds model and usage where OpenAI puts them (after data) and vLLM (before)", () => {
  const data = [{ object: "embedding", index: 0, embedding: "AAAAPw==" }];
  const openai = JSON.stringify({
    object: "list",
    data,
    model: "text-embedding-3-small",
    usage: { prompt_tokens: 5, total_tokens: 5 },
  });
  assert.deepEqual(readEmbeddingsSummary(openai), {
    responseModel: "text-embedding-3-small",
    inputTokens: 5,
  });
  const vllm = JSON.stringify({
    id: "embd-1",
    object: "list",
    created: 1,
    model: 'bge "m3"',
    data,
    usage: { prompt_tokens: 7, total_tokens: 7, completion_tokens: 0, prompt_tokens_details: null },
  });
  assert.deepEqual(readEmbeddingsSummary(vllm), { responseModel: 'bge "m3"', inputTokens: 7 });
  assert.deepEqual(readEmbeddingsSummary(JSON.stringify({ data })), {
    responseModel: undefined,
    inputTokens: undefined,
  });
});

test("the echo embedding model: stable values, shared words close, unit length, dimensions honoured", async () => {
  const model = createEchoEmbeddingModel({ modelId: "echo" });
  const { embeddings, usage } = await model.doEmbed({
    values: ["The cat sat on the mat", "the CAT sat", "quantum chromodynamics", "!!!"],
    dimensions: 64,
  });
  assert.equal(usage?.tokens, 6 + 3 + 2 + 0);
  const [sentence, close, far, punctuation] = embeddings;
  for (const vector of embeddings) {
    assert.equal(vector.length, 64);
    assert.ok(Math.abs(Math.hypot(...vector) - 1) < 1e-9);
  }
  const dot = (a: number[], b: number[]) => a.reduce((sum, value, index) => sum + value * b[index], 0);
  assert.ok(dot(sentence, close) > dot(sentence, far), "shared words make texts close");
  assert.ok(
    punctuation.some((value) => value !== 0),
    "a text without words still has a vector",
  );
  // Pinned (FNV-1a of "hello" is 0x4f9f2cab: slot 3, positive), so a change to the hashing, which
  // would change every vector a client has stored, is a visible decision.
  assert.deepEqual(hashedEmbedding(["hello"], 8), [0, 0, 0, 1, 0, 0, 0, 0]);
});
