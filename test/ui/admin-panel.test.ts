import assert from "node:assert/strict";
import { test } from "node:test";
import { launchBrowser, openConsole, unexpectedProblems } from "../support/console-browser.ts";
import { startConsoleService } from "../support/start-console-service.ts";
import { waitFor } from "../support/wait-for.ts";

const ADMIN_KEY = "console-admin-key-0123456789abcdef";

test("with the admin key, the operations view lists the keys and the usage per key and per model", async (t) => {
  const { address } = await startConsoleService(t, { ADMIN_API_KEY: ADMIN_KEY });
  const admin = { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" };
  const created = await fetch(`${address}/admin/keys`, {
    method: "POST",
    headers: admin,
    body: JSON.stringify({ name: "team-console" }),
  });
  assert.equal(created.status, 201);
  const { key } = (await created.json()) as { key: string };
  // Usage the panel must show: two calls made with the virtual key.
  for (let index = 0; index < 2; index += 1) {
    const chat = await fetch(`${address}/chat`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ message: "hello" }),
    });
    assert.equal(chat.status, 200);
  }
  await waitFor(
    "the ledger rows",
    async () => {
      const usage = await fetch(`${address}/admin/usage?group_by=key`, { headers: admin });
      return JSON.stringify(await usage.json()).includes('"requests":2') || undefined;
    },
    { timeoutMs: 10_000, intervalMs: 100 },
  );

  const browser = await launchBrowser(t);
  const { page, problems } = await openConsole(browser, address, { path: "/ui#operations" });
  // The console's own key (the virtual one), then the admin key in its panel.
  await page.locator("#key-form").waitFor();
  await page.fill("#key-input", key);
  await page.press("#key-input", "Enter");
  const panel = page.locator("#admin-panel");
  await panel.waitFor({ state: "visible" });
  await page.fill("#admin-key-input", ADMIN_KEY);
  await page.press("#admin-key-input", "Enter");
  await panel.getByText("team-console").first().waitFor();
  await panel.getByText("openai:fake-model").first().waitFor();
  const text = (await panel.textContent()) ?? "";
  assert.match(text, /Usage by key/);
  assert.match(text, /Usage by model/);
  assert.ok(!text.includes(key), "the panel never shows a key's secret");
  assert.equal(await page.evaluate(() => JSON.stringify(localStorage).includes("console-admin-key")), false);
  assert.deepEqual(unexpectedProblems(problems, [401]), []);
});
