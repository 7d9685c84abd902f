import assert from "node:assert/strict";
import { test } from "node:test";
import { chunkText } from "../../src/knowledge/chunk-text.ts";

test("chunks respect the size, keep whole paragraphs and sentences, and overlap", () => {
  const paragraphs = Array.from(
    { length: 20 },
    (_, index) => `Paragraph ${index} opens here. It continues with a second sentence of some length.`,
  );
  const chunks = chunkText(paragraphs.join("\n\n"), { size: 200, overlap: 40 });
  assert.ok(chunks.length > 5);
  for (const chunk of chunks) assert.ok(chunk.length <= 200, `${chunk.length}: ${chunk}`);
  for (const paragraph of paragraphs) {
    assert.ok(
      chunks.some((chunk) => chunk.includes(paragraph)),
      `paragraph kept whole: ${paragraph}`,
    );
  }
  // Each chunk after the first starts with words from the end of the one before.
  for (let index = 1; index < chunks.length; index += 1) {
    const firstWords = chunks[index].split(" ").slice(0, 2).join(" ");
    assert.ok(chunks[index - 1].includes(firstWords), `overlap at chunk ${index}`);
  }
});

test("a sentence longer than a chunk is cut at spaces; empty text gives no chunks", () => {
  const long = Array.from({ length: 100 }, (_, index) => `word${index}`).join(" ");
  const chunks = chunkText(long, { size: 120, overlap: 0 });
  assert.ok(chunks.every((chunk) => chunk.length <= 120));
  assert.equal(chunks.join(" "), long);
  assert.deepEqual(chunkText("  \n\n ", { size: 100, overlap: 10 }), []);
});
