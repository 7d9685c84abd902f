import assert from "node:assert/strict";
import { test } from "node:test";
import { launchBrowser, openConsole, unexpectedProblems } from "../support/console-browser.ts";
import { startConsoleService } from "../support/start-console-service.ts";

const KEY = "console-browser-key-0123456789";

test("a 401 asks for a key, and the key then works (and stays for the tab)", async (t) => {
  const { address, upstream } = await startConsoleService(t, { API_KEYS: KEY });
  const browser = await launchBrowser(t);
  // A browser at / is sent to the console, with no key needed for its page.
  const { page, problems } = await openConsole(browser, address, { path: "/" });
  assert.equal(new URL(page.url()).pathname, "/ui");

  // Listing the models was refused: the console asks for the key, and the focus is on its field.
  await page.locator("#key-form").waitFor();
  assert.match((await page.textContent("#key-reason")) ?? "", /needs an API key: An API key is required/);
  assert.equal(await page.evaluate("document.activeElement?.id"), "key-input");
  assert.equal(await page.locator("#model-select option").count(), 0);

  // A message sent without a key is taken back, not lost.
  await page.fill("#composer-input", "Hello with a key");
  await page.press("#composer-input", "Enter");
  await page.locator("#key-form").waitFor();
  assert.equal(await page.locator(".message").count(), 0);
  assert.equal(await page.inputValue("#composer-input"), "Hello with a key");
  assert.equal(upstream.requests.length, 0);

  // A wrong key is refused with the service's reason.
  await page.fill("#key-input", "not-the-key");
  await page.press("#key-input", "Enter");
  await page
    .locator("#key-reason")
    .getByText(/The API key is not valid/)
    .waitFor();

  await page.fill("#key-input", KEY);
  await page.press("#key-input", "Enter");
  await page.waitForSelector("#model-select option", { state: "attached" });
  assert.equal(await page.isHidden("#key-form"), true);
  await page.press("#composer-input", "Enter");
  await page.locator(".message.assistant").getByText("Hello from the fake upstream.").waitFor();
  assert.equal(upstream.requests.length, 1);

  // The key is kept for the tab (sessionStorage), not written to localStorage.
  assert.equal(await page.evaluate(() => sessionStorage.getItem("llm-console.api-key")), KEY);
  assert.equal(
    await page.evaluate(() => JSON.stringify(localStorage).includes("console-browser-key")),
    false,
  );
  await page.reload();
  await page.waitForSelector("#model-select option", { state: "attached" });
  assert.equal(await page.isHidden("#key-form"), true);

  // Other views use it too.
  await page.click('a[data-view="knowledge"]');
  await page.locator("#documents-status").getByText("No documents yet.").waitFor();
  assert.deepEqual(unexpectedProblems(problems, [401]), []);
});
