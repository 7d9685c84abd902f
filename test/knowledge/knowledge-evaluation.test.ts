// `npm run eval`'s evaluation, run on both stores: the figures the README quotes come from this code.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { evaluateKnowledge, readEvalSet } from "../../eval/evaluate-knowledge.ts";
import { requirePostgres, TEST_DATABASE_URL } from "../support/require-postgres.ts";

before(() => requirePostgres());

test("the evaluation set covers PDF, DOCX and HTML, and paraphrases that share no word with their answer", () => {
  const set = readEvalSet();
  const formats = new Set(set.documents.map((document) => document.format));
  for (const format of ["pdf", "docx", "html", "csv"]) assert.ok(formats.has(format as never), format);
  const paraphrases = set.questions.filter((question) => question.kind === "paraphrase");
  assert.ok(paraphrases.length >= 8);
});

test("on both stores, hybrid search with the test embedding finds the paraphrases that full-text misses", async () => {
  const set = readEvalSet();
  const lexical = set.questions.filter((question) => question.kind === "lexical").length;
  const rows = await evaluateKnowledge({ set, databaseUrl: TEST_DATABASE_URL });
  for (const store of ["SQLite", "PostgreSQL"] as const) {
    const row = (mode: string) =>
      rows.find((candidate) => candidate.store === store && candidate.mode === mode);
    const fullText = row("full-text");
    const hybrid = row("hybrid (test embedding)");
    assert.ok(fullText && hybrid && row("hybrid (echo)"), `every mode ran on ${store}`);
    // Worded like their answers, the lexical questions are all found by full-text search.
    assert.equal(fullText.recallAt5, lexical / fullText.questions, `${store} full-text`);
    assert.equal(
      fullText.paraphrases.recallAt5,
      0,
      `${store}: paraphrases share no word full-text can match`,
    );
    assert.ok(hybrid.paraphrases.recallAt5 >= 0.9, `${store} hybrid finds the paraphrases`);
    assert.ok(
      hybrid.recallAt1 > fullText.recallAt1 && hybrid.mrr > fullText.mrr,
      `${store} fused ranking is better`,
    );
  }
});
