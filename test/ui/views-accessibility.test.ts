import assert from "node:assert/strict";
import { test } from "node:test";
import {
  DESKTOP,
  launchBrowser,
  openConsole,
  PHONE,
  saveScreenshot,
  seriousAccessibilityViolations,
  unexpectedProblems,
} from "../support/console-browser.ts";
import { startConsoleService } from "../support/start-console-service.ts";

const REPLY = [
  "Here is a **short** answer with a list:\n\n",
  "- the stream arrives piece by piece\n",
  "- Stop aborts it\n\n",
  "```ts\nconst reply = await fetch('/chat/stream');\n```\n",
];

test("each view, with content, has no serious or critical axe violation, at desktop and phone width", async (t) => {
  const { address, upstream } = await startConsoleService(t);
  upstream.script({ deltas: REPLY });
  // Content for every view: a document to list and find, a conversation, traffic for the figures.
  const ingest = await fetch(`${address}/ingest`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      source: "streaming-guide.md",
      text: "Streams arrive piece by piece; Stop aborts them.",
    }),
  });
  assert.equal(ingest.status, 202);
  const browser = await launchBrowser(t);

  for (const [width, viewport] of [
    ["desktop", DESKTOP],
    ["phone", PHONE],
  ] as const) {
    const { page, problems } = await openConsole(browser, address, { viewport });
    await page.selectOption("#model-select", "openai:fake-model");
    await page.fill("#composer-input", "How do streams work?");
    await page.press("#composer-input", "Enter");
    await page.waitForSelector("#conversation[aria-busy=false]");
    assert.deepEqual(await seriousAccessibilityViolations(page), [], `playground at ${width} width`);
    await saveScreenshot(page, `playground-${width}`);

    await page.click('a[data-view="knowledge"]');
    await page.locator("#documents-table tbody th").getByText("streaming-guide.md").waitFor();
    await page.fill("#search-input", "piece");
    await page.press("#search-input", "Enter");
    await page.locator("#search-results mark").first().waitFor();
    assert.deepEqual(await seriousAccessibilityViolations(page), [], `knowledge at ${width} width`);
    await saveScreenshot(page, `knowledge-${width}`);

    await page.click('a[data-view="operations"]');
    await page.locator('[data-figure="requests"] .figure-value').getByText(/^\d/).waitFor();
    assert.deepEqual(await seriousAccessibilityViolations(page), [], `operations at ${width} width`);
    await saveScreenshot(page, `operations-${width}`);

    // Nothing is wider than the screen at phone width.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow} px wider than the ${width} viewport`);
    assert.deepEqual(unexpectedProblems(problems), []);
    await page.context().close();
  }
});

test("the views are reached and used by keyboard alone, in a sensible focus order", async (t) => {
  const { address } = await startConsoleService(t);
  const browser = await launchBrowser(t);
  const { page, problems } = await openConsole(browser, address);
  const focused = () =>
    page.evaluate(() => {
      const element = document.activeElement;
      return element?.id || element?.textContent?.trim() || element?.tagName;
    });
  const order: string[] = [];
  for (let index = 0; index < 6; index += 1) {
    await page.keyboard.press("Tab");
    order.push((await focused()) ?? "");
  }
  assert.deepEqual(order, [
    "Skip to content",
    "Playground",
    "Knowledge",
    "Operations",
    "model-select",
    "system-prompt",
  ]);
  // A section link moves the focus to the section's heading.
  for (let index = 0; index < 3; index += 1) await page.keyboard.press("Shift+Tab");
  assert.equal(await focused(), "Knowledge");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.activeElement?.id === "knowledge-title");
  assert.equal(await page.isVisible("#knowledge"), true);
  assert.equal(await page.isHidden("#playground"), true);
  assert.equal(await page.getAttribute('a[data-view="knowledge"]', "aria-current"), "page");
  assert.deepEqual(unexpectedProblems(problems), []);
});
