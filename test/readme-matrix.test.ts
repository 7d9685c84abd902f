import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { renderMatrix } from "./support/openai-surface-matrix.ts";

test("the README's feature × provider table is the one the conformance suites check", async () => {
  const readme = await readFile(new URL("../README.md", import.meta.url), "utf8");
  const table = /<!-- matrix:start -->\n([\s\S]*?)\n<!-- matrix:end -->/.exec(readme)?.[1];
  assert.ok(table !== undefined, "README.md has the matrix between its markers");
  assert.equal(
    table,
    renderMatrix(),
    "regenerate the README table from test/support/openai-surface-matrix.ts",
  );
});
