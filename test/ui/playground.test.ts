import assert from "node:assert/strict";
import { test } from "node:test";
import { launchBrowser, openConsole, unexpectedProblems } from "../support/console-browser.ts";
import { SseParser } from "../support/sse-parser.ts";
import { startConsoleService } from "../support/start-console-service.ts";
import { waitFor } from "../support/wait-for.ts";

// The echo model with a token delay streams like a real model, slowly enough to watch it grow.
const ECHO_DELAY_MS = "40";

test("a reply streams in piece by piece, and the finished reply equals the stream", async (t) => {
  const { address } = await startConsoleService(t, { ECHO_DELAY_MS });
  const browser = await launchBrowser(t);
  const { page, problems } = await openConsole(browser, address);

  await page.selectOption("#model-select", "echo");
  await page.fill("#composer-input", "Tell me how streams work");
  await page.press("#composer-input", "Enter");

  const reply = page.locator(".message.assistant .message-body").last();
  const first = await waitFor(
    "the reply's first text",
    async () => (await reply.textContent())?.trim() || undefined,
  );
  const second = await waitFor("the reply to grow", async () => {
    const text = (await reply.textContent())?.trim() ?? "";
    return text.length > first.length ? text : undefined;
  });
  assert.ok(second.startsWith(first), `${JSON.stringify(second)} continues ${JSON.stringify(first)}`);
  assert.equal(
    await page.getAttribute("#conversation", "aria-busy"),
    "true",
    "still streaming at the second read",
  );

  await page.waitForSelector("#conversation[aria-busy=false]");
  const shown = (await reply.textContent())?.trim();

  // The same request straight to the service: the text of its data frames, joined.
  const direct = await fetch(`${address}/chat/stream`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      messages: [{ role: "user", content: "Tell me how streams work" }],
      model: "echo",
    }),
  });
  const parser = new SseParser();
  parser.push(await direct.text());
  const streamed = parser.events
    .filter((event) => event.event === "" || event.event === "message")
    .map((event) => event.data)
    .filter((data) => data !== "[DONE]")
    .join("");
  assert.match(streamed, /echo model/);
  assert.equal(shown, streamed.trim());
  const stored = await page.evaluate(() =>
    JSON.parse(localStorage.getItem("llm-console.conversation") ?? "[]"),
  );
  assert.equal(stored[1].content, streamed, "the conversation keeps the reply exactly as streamed");

  // Under the reply: request id, usage, time to first token and speed.
  const facts = await page.locator(".message.assistant .facts").last().textContent();
  assert.match(facts ?? "", /Request id:?[0-9a-f-]{36}/);
  assert.match(facts ?? "", /Tokens:?\d+ in, \d+ out/);
  assert.match(facts ?? "", /First token:?\d+ ms/);
  assert.match(facts ?? "", /Speed:?[\d.]+ tokens\/s/);
  assert.deepEqual(unexpectedProblems(problems), []);
});

test("Stop ends the stream and the upstream sees its request aborted; Escape does the same", async (t) => {
  const { address, upstream } = await startConsoleService(t);
  upstream.script({ deltas: Array.from({ length: 200 }, (_, index) => `word${index} `), chunkDelayMs: 50 });
  const browser = await launchBrowser(t);
  const { page, problems } = await openConsole(browser, address);
  await page.selectOption("#model-select", "openai:fake-model");

  await page.fill("#composer-input", "Talk for a long time");
  await page.click("#send-button");
  await page.locator(".message.assistant .message-body").last().getByText("word2").waitFor();
  await page.click("#stop-button");
  const aborted = await upstream.waitForAbort(0, 5000);
  assert.ok(aborted.deltasWritten < 200, "the upstream stopped writing before its end");
  await page.waitForSelector("#conversation[aria-busy=false]");
  assert.match(
    (await page.locator(".message.assistant").last().textContent()) ?? "",
    /Stopped before the end/,
  );
  assert.equal(await page.isDisabled("#stop-button"), true);

  // Escape stops too, from the keyboard alone.
  await page.fill("#composer-input", "Again");
  await page.press("#composer-input", "Enter");
  await page.locator(".message.assistant .message-body").last().getByText("word2").waitFor();
  await page.keyboard.press("Escape");
  await upstream.waitForAbort(1, 5000);
  await page.waitForSelector("#conversation[aria-busy=false]");
  assert.deepEqual(unexpectedProblems(problems), []);
});

test("a reply holding an onerror image and a javascript: link is shown inert, and no script runs", async (t) => {
  const { address, upstream } = await startConsoleService(t);
  upstream.script({
    deltas: [
      "Look: <img src=x onerror=\"window.__pwned = 'img'\"> and ",
      "[click me](javascript:window.__pwned='link') and ",
      '<a href="javascript:window.__pwned=1">raw</a> and\n\n',
      "<script>window.__pwned='script'</script>\n\n",
      "```js\nconsole.log('<b>code</b>')\n```\n",
    ],
  });
  const browser = await launchBrowser(t);
  const { page, problems } = await openConsole(browser, address);
  await page.selectOption("#model-select", "openai:fake-model");
  await page.fill("#composer-input", "Say something nasty");
  await page.press("#composer-input", "Enter");
  await page.waitForSelector("#conversation[aria-busy=false]");

  const body = page.locator(".message.assistant .message-body").last();
  assert.equal(await body.locator("img").count(), 0, "no image element was made");
  assert.equal(await body.locator("script").count(), 0);
  // The raw HTML is shown as the text it is.
  assert.match((await body.textContent()) ?? "", /<img src=x onerror=/);
  assert.match((await body.textContent()) ?? "", /<script>/);
  // The Markdown link keeps its text, and no link anywhere points at javascript:.
  const hrefs = await body
    .locator("a")
    .evaluateAll((links) => links.map((link) => link.getAttribute("href")));
  assert.ok(
    hrefs.every((href) => href === null || !/^\s*javascript:/i.test(href)),
    JSON.stringify(hrefs),
  );
  await body.getByText("click me").click();
  // Code blocks keep their text and get a copy button.
  assert.equal(await body.locator("pre code").textContent(), "console.log('<b>code</b>')\n");
  assert.equal(await body.locator(".copy-button").count(), 1);
  assert.equal(
    await page.evaluate(() => (globalThis as unknown as { __pwned?: unknown }).__pwned),
    undefined,
  );
  assert.deepEqual(unexpectedProblems(problems), []);

  // Behind the sanitiser, the page's CSP: an inline script that did reach the DOM would not run.
  await page.evaluate(`{
    window.__violations = [];
    document.addEventListener("securitypolicyviolation", (event) => window.__violations.push(event.effectiveDirective));
    const script = document.createElement("script");
    script.textContent = "window.__inline = 1";
    document.body.append(script);
  }`);
  await waitFor("the CSP violation to be reported", () =>
    page.evaluate<number>("window.__violations.length"),
  );
  assert.deepEqual(await page.evaluate("window.__violations"), ["script-src-elem"]);
  assert.equal(await page.evaluate("window.__inline"), undefined);
});

test("the conversation survives a reload and can be cleared; settings reach the request, errors show their code", async (t) => {
  const { address, upstream } = await startConsoleService(t);
  const browser = await launchBrowser(t);
  const { page, problems } = await openConsole(browser, address);
  await page.selectOption("#model-select", "openai:fake-model");
  await page.fill("#system-prompt", "Be brief.");
  await page.fill("#temperature", "0.3");
  await page.fill("#max-tokens", "64");
  // Shift+Enter breaks the line instead of sending.
  await page.click("#composer-input");
  await page.keyboard.type("first line");
  await page.keyboard.press("Shift+Enter");
  await page.keyboard.type("second line");
  assert.equal(await page.locator(".message").count(), 0);
  await page.keyboard.press("Enter");
  await page.waitForSelector("#conversation[aria-busy=false]");
  assert.equal(upstream.requests.length, 1);
  const sent = upstream.requests[0].body;
  assert.equal(sent.temperature, 0.3);
  assert.equal(sent.max_tokens, 64);
  assert.deepEqual(sent.messages, [
    { role: "system", content: "Be brief." },
    { role: "user", content: "first line\nsecond line" },
  ]);

  await page.reload();
  await page.locator(".message.assistant").getByText("Hello from the fake upstream.").waitFor();
  assert.equal(await page.locator(".message.user").textContent(), "Youfirst line\nsecond line");
  assert.equal(await page.inputValue("#system-prompt"), "Be brief.");
  assert.equal(await page.inputValue("#model-select"), "openai:fake-model");

  // The next turn carries the history.
  await page.fill("#composer-input", "And then?");
  await page.press("#composer-input", "Enter");
  await page.waitForSelector("#conversation[aria-busy=false]");
  assert.deepEqual(
    (upstream.requests[1].body.messages as { role: string }[]).map((message) => message.role),
    ["system", "user", "assistant", "user"],
  );

  // An upstream failure is shown plainly, with its code.
  upstream.script({ status: 401, errorMessage: "bad upstream key" });
  await page.fill("#composer-input", "Fail please");
  await page.press("#composer-input", "Enter");
  await page.waitForSelector("#conversation[aria-busy=false]");
  assert.match((await page.locator(".message-error").last().textContent()) ?? "", /^UPSTREAM_AUTH_FAILED /);

  await page.click("#clear-conversation");
  assert.equal(await page.locator(".message").count(), 0);
  await page.reload();
  await page.waitForSelector("#model-select option", { state: "attached" });
  assert.equal(await page.locator(".message").count(), 0);
  assert.deepEqual(unexpectedProblems(problems, [502]), []);
});

test("the knowledge toggle grounds the reply and lists its sources; a code block's copy button copies it", async (t) => {
  const { address, upstream } = await startConsoleService(t);
  const ingest = await fetch(`${address}/ingest`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ source: "zebra-notes.md", text: "Zebras graze on the savanna at dawn." }),
  });
  const { job_id: jobId } = (await ingest.json()) as { job_id: string };
  await waitFor("the ingest to complete", async () => {
    const status = (await (await fetch(`${address}/status/${jobId}`)).json()) as { status: string };
    return status.status === "completed";
  });
  upstream.script({ deltas: ["Zebras graze at dawn.\n\n", "```sh\necho zebra\n```\n"] });

  const browser = await launchBrowser(t);
  const { page, problems } = await openConsole(browser, address);
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"]);
  await page.selectOption("#model-select", "openai:fake-model");
  await page.check("#use-knowledge");
  await page.fill("#composer-input", "When do zebras graze?");
  await page.press("#composer-input", "Enter");
  await page.waitForSelector("#conversation[aria-busy=false]");

  const sources = await page.locator(".message.assistant .sources li").allTextContents();
  assert.equal(sources.length, 1);
  assert.match(sources[0], /^zebra-notes\.md \(chunk 0, score /);
  // The chunk went to the model with the question.
  assert.match(JSON.stringify(upstream.requests[0].body.messages), /Zebras graze on the savanna at dawn/);

  await page.locator(".copy-button").click();
  await page.locator(".copy-button").getByText("Copied").waitFor();
  assert.equal(await page.evaluate("navigator.clipboard.readText()"), "echo zebra\n");

  // The setting survives a reload like the conversation.
  await page.reload();
  assert.equal(await page.isChecked("#use-knowledge"), true);
  assert.equal(await page.locator(".message.assistant .sources li").count(), 1);
  assert.deepEqual(unexpectedProblems(problems), []);
});
