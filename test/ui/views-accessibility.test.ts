import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Page } from "playwright-core";
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
import { waitFor } from "../support/wait-for.ts";

const REPLY = [
  "Here is a **short** answer with a list:\n\n",
  "- the stream arrives piece by piece\n",
  "- Stop aborts it\n\n",
  "```ts\nconst reply = await fetch('/chat/stream');\n```\n",
];

/** How many pixels the page is wider than the screen (0 when nothing overflows sideways). */
function overflowOf(page: Page) {
  // Evaluated in the page, as source: the tests are type-checked without the DOM's types.
  return page.evaluate<number>("Math.max(0, document.documentElement.scrollWidth - window.innerWidth)");
}

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
    // At phone width the settings start folded.
    assert.equal(await page.isVisible("#model-select"), width === "desktop");
    if (width === "phone") await page.click(".settings-toggle");
    await page.selectOption("#model-select", "openai:fake-model");
    await page.fill("#composer-input", "How do streams work?");
    await page.press("#composer-input", "Enter");
    await page.waitForSelector("#conversation[aria-busy=false]");
    assert.deepEqual(await seriousAccessibilityViolations(page), [], `playground at ${width} width`);
    if (width === "phone") await page.click(".settings-toggle");
    assert.equal(await overflowOf(page), 0, `playground wider than the ${width} screen`);
    await saveScreenshot(page, `playground-${width}`);

    await page.click('a[data-view="knowledge"]');
    await page.locator("#documents-table tbody th").getByText("streaming-guide.md").waitFor();
    await page.fill("#search-input", "piece");
    await page.press("#search-input", "Enter");
    await page.locator("#search-results mark").first().waitFor();
    assert.deepEqual(await seriousAccessibilityViolations(page), [], `knowledge at ${width} width`);
    assert.equal(await overflowOf(page), 0, `knowledge wider than the ${width} screen`);
    await saveScreenshot(page, `knowledge-${width}`);

    await page.click('a[data-view="operations"]');
    // A few readings under traffic, so the charts have a line to show.
    let sending = true;
    const traffic = (async () => {
      while (sending) {
        const response = await fetch(`${address}/chat/stream`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ message: "hello", model: "echo" }),
        });
        await response.text();
        // A steady trickle is enough, and kind to a shared machine.
        await sleep(50);
      }
    })();
    await waitFor(
      "three readings in the requests chart",
      () =>
        page.evaluate<boolean>(
          `(document.querySelector('[data-figure="requests"] .sparkline-line')?.getAttribute("points") ?? "").split(" ").length >= 3`,
        ),
      { timeoutMs: 15_000, intervalMs: 200 },
    ).finally(async () => {
      sending = false;
      await traffic;
    });
    assert.deepEqual(await seriousAccessibilityViolations(page), [], `operations at ${width} width`);
    await saveScreenshot(page, `operations-${width}`);

    assert.equal(await overflowOf(page), 0, `operations wider than the ${width} screen`);
    assert.deepEqual(unexpectedProblems(problems), []);
    await page.context().close();
  }
});

test("the views are reached and used by keyboard alone, in a sensible focus order", async (t) => {
  const { address } = await startConsoleService(t);
  const browser = await launchBrowser(t);
  const { page, problems } = await openConsole(browser, address);
  const focused = () =>
    page.evaluate<string>(
      "document.activeElement?.id || document.activeElement?.textContent?.trim() || document.activeElement?.tagName",
    );
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
    "Settings",
    "model-select",
  ]);
  // A section link moves the focus to the section's heading.
  for (let index = 0; index < 3; index += 1) await page.keyboard.press("Shift+Tab");
  assert.equal(await focused(), "Knowledge");
  await page.keyboard.press("Enter");
  await waitFor("the focus on the Knowledge heading", async () => (await focused()) === "knowledge-title");
  assert.equal(await page.isVisible("#knowledge"), true);
  assert.equal(await page.isHidden("#playground"), true);
  assert.equal(await page.getAttribute('a[data-view="knowledge"]', "aria-current"), "page");
  assert.deepEqual(unexpectedProblems(problems), []);
});
