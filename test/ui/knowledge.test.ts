import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { test } from "node:test";
import { launchBrowser, openConsole, unexpectedProblems } from "../support/console-browser.ts";
import { startConsoleService } from "../support/start-console-service.ts";

test("pasted text and a file are ingested to 100 %, then listed, found with the words marked, and deleted", async (t) => {
  const { address, config } = await startConsoleService(t);
  await mkdir(config.ingestRoot, { recursive: true });
  await writeFile(
    path.join(config.ingestRoot, "lighthouse.md"),
    "# Lighthouses\n\nA lighthouse keeper trims the lamp wick every evening.",
  );
  const browser = await launchBrowser(t);
  const { page, problems } = await openConsole(browser, address, { path: "/ui#knowledge" });
  await page.locator("#documents-status").getByText("No documents yet.").waitFor();

  await page.check("#ingest-kind-text");
  await page.fill("#ingest-source", "zebra-notes.md");
  await page.fill("#ingest-text", "Zebras graze on the savanna. A zebra herd moves at dawn.");
  await page.click("#ingest-form button[type=submit]");
  await page
    .locator("#ingest-status")
    .getByText(/^Done: zebra-notes\.md, 1 chunks/)
    .waitFor();
  assert.equal(await page.getAttribute("#ingest-progress-bar", "value"), "100");
  await page.locator("#documents-table tbody th").getByText("zebra-notes.md").waitFor();

  await page.check("#ingest-kind-file");
  await page.fill("#ingest-source", "lighthouse.md");
  await page.click("#ingest-form button[type=submit]");
  await page
    .locator("#ingest-status")
    .getByText(/^Done: lighthouse\.md/)
    .waitFor();
  assert.equal(await page.getAttribute("#ingest-progress-bar", "value"), "100");
  await page.locator("#documents-status").getByText("2 documents.").waitFor();

  await page.fill("#search-input", "zebra savanna");
  await page.press("#search-input", "Enter");
  await page.locator("#search-status").getByText("1 passage matched.").waitFor();
  assert.match((await page.locator(".result-source").textContent()) ?? "", /^zebra-notes\.md, chunk 0/);
  const marked = await page.locator("#search-results mark").allTextContents();
  assert.ok(marked.length > 0, "the matched words are marked");
  assert.ok(
    marked.every((word) => /zebra|savanna/i.test(word)),
    `only matched words are marked: ${marked.join(", ")}`,
  );

  // Delete asks for a second click.
  const remove = page.getByRole("button", { name: "Delete zebra-notes.md" });
  await remove.click();
  assert.equal(await remove.textContent(), "Confirm delete");
  assert.equal(await page.locator("#documents-table tbody tr").count(), 2);
  await remove.click();
  await page.locator("#documents-status").getByText("1 document.").waitFor();
  assert.deepEqual(await page.locator("#documents-table tbody th").allTextContents(), ["lighthouse.md"]);
  await page.press("#search-input", "Enter");
  await page.locator("#search-status").getByText("Nothing matched.").waitFor();
  assert.deepEqual(unexpectedProblems(problems), []);
});

test("a refused ingest and a failed job show their codes", async (t) => {
  const { address, config } = await startConsoleService(t);
  await mkdir(config.ingestRoot, { recursive: true });
  const browser = await launchBrowser(t);
  const { page, problems } = await openConsole(browser, address, { path: "/ui#knowledge" });
  await page.check("#ingest-kind-file");
  await page.fill("#ingest-source", "../../etc/passwd");
  await page.click("#ingest-form button[type=submit]");
  const status = page.locator("#ingest-status");
  await status.getByText(/^VALIDATION_FAILED: body\.source '\.\.' is not accepted/).waitFor();
  // Accepted, then failed by the worker: the job's own code.
  await page.fill("#ingest-source", "no-such-file.md");
  await page.click("#ingest-form button[type=submit]");
  await status.getByText(/^failed: SOURCE_NOT_FOUND /).waitFor();
  assert.deepEqual(unexpectedProblems(problems, [400]), []);
});
