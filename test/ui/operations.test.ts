import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { launchBrowser, openConsole, unexpectedProblems } from "../support/console-browser.ts";
import { startConsoleService } from "../support/start-console-service.ts";
import { waitFor } from "../support/wait-for.ts";

test("the operations view shows non-zero request, latency, token and first-token figures after traffic", async (t) => {
  const { address } = await startConsoleService(t);
  const browser = await launchBrowser(t);
  const { page, problems } = await openConsole(browser, address, { path: "/ui#operations" });
  const figure = (id: string) => page.locator(`[data-figure="${id}"] .figure-value`);
  const note = (id: string) => page.locator(`[data-figure="${id}"] .figure-note`);
  // The first reading only sets the baseline; wait for it before sending traffic.
  await page
    .locator("#metrics-status")
    .getByText(/^Updated /)
    .waitFor();

  // Traffic the figures must show: chats streamed through the service.
  let sending = true;
  const traffic = (async () => {
    while (sending) {
      const response = await fetch(`${address}/chat/stream`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ message: "hello" }),
      });
      await response.text();
      // A steady trickle is enough, and kind to a shared machine.
      await sleep(50);
    }
  })();
  let seen: Record<string, string | null>;
  try {
    const requestsPerSecond = await waitFor(
      "a non-zero requests-per-second figure",
      async () => {
        const value = Number(await figure("requests").textContent());
        return value > 0 ? value : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    assert.ok(requestsPerSecond > 0);
    seen = await waitFor(
      "latency, first-token and token figures",
      async () => {
        const values = {
          latency: await figure("latency").textContent(),
          firstToken: await figure("first-token").textContent(),
          tokens: await figure("tokens").textContent(),
        };
        return Object.values(values).every((value) => value !== "–" && Number.parseFloat(value ?? "") > 0)
          ? values
          : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    );
  } finally {
    sending = false;
    await traffic;
  }
  assert.match(seen.latency ?? "", /^[\d.]+ ms$/);
  assert.match(seen.firstToken ?? "", /^[\d.]+ ms$/);
  const total = Number.parseInt((await note("requests").textContent()) ?? "", 10);
  assert.ok(total > 0, "requests since start are counted");
  // Each chart has drawn points.
  const points = await page.locator('[data-figure="requests"] .sparkline-line').getAttribute("points");
  assert.ok((points ?? "").split(" ").length >= 1);
  assert.equal(await figure("errors").textContent(), "0.0");
  // Routing health from /models/status: the model's deployments, healthy.
  const routing = page.locator("#routing-panel");
  await routing.waitFor({ state: "visible" });
  const status = (await (await fetch(`${address}/models/status`)).json()) as { models: { name: string }[] };
  const routingText = (await routing.textContent()) ?? "";
  for (const model of status.models) assert.ok(routingText.includes(model.name), `${model.name} is listed`);
  assert.deepEqual(unexpectedProblems(problems, [404]), []);
});
