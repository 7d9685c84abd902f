import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { test } from "node:test";
import { CONSOLE_CONTENT_SECURITY_POLICY } from "../../src/routes/ui.ts";
import { buildTestApp } from "../support/build-test-app.ts";

const BROWSER_ACCEPT =
  "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";
const KEY = "console-test-key-0123456789";

test("GET / answers JSON to API clients and redirects a browser asking for HTML to /ui", async (t) => {
  const { app } = await buildTestApp();
  t.after(() => app.close());
  for (const accept of [undefined, "*/*", "application/json", "text/html;q=0, */*"]) {
    const response = await app.inject({ method: "GET", url: "/", headers: accept ? { accept } : {} });
    assert.equal(response.statusCode, 200, `Accept: ${accept}`);
    assert.equal(response.json().message, "LLM API Service is running");
    assert.equal(response.json().console, "/ui");
    assert.equal(response.headers.vary, "accept");
  }
  const browser = await app.inject({ method: "GET", url: "/", headers: { accept: BROWSER_ACCEPT } });
  assert.equal(browser.statusCode, 302);
  assert.equal(browser.headers.location, "/ui");
  assert.equal(browser.headers.vary, "accept");
});

test("the console and its files are served under a strict CSP", async (t) => {
  const { app } = await buildTestApp();
  t.after(() => app.close());
  const page = await app.inject({ method: "GET", url: "/ui" });
  assert.equal(page.statusCode, 200);
  assert.match(String(page.headers["content-type"]), /^text\/html/);
  assert.match(page.body, /<script type="module" src="\/ui\/console\.js"><\/script>/);
  for (const url of [
    "/ui",
    "/ui/console.js",
    "/ui/console.css",
    "/ui/vendor/marked.js",
    "/ui/vendor/purify.js",
  ]) {
    const response = await app.inject({ method: "GET", url });
    assert.equal(response.statusCode, 200, url);
    assert.equal(response.headers["content-security-policy"], CONSOLE_CONTENT_SECURITY_POLICY, url);
    assert.equal(response.headers["x-content-type-options"], "nosniff", url);
  }
  assert.match(CONSOLE_CONTENT_SECURITY_POLICY, /default-src 'self'/);
  assert.doesNotMatch(CONSOLE_CONTENT_SECURITY_POLICY, /unsafe-inline|unsafe-eval/);
  const marked = await app.inject({ method: "GET", url: "/ui/vendor/marked.js" });
  assert.match(String(marked.headers["content-type"]), /^(text|application)\/javascript/);
  assert.match(marked.body, /export\s*\{/);
  const purify = await app.inject({ method: "GET", url: "/ui/vendor/purify.js" });
  assert.match(purify.body, /@license DOMPurify 3\.5\.0/);

  const missing = await app.inject({ method: "GET", url: "/ui/no-such-file.js" });
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.json().error.code, "NOT_FOUND");
});

test("the console's HTML has no inline script, style or event handler (the CSP would block them)", async () => {
  const folder = path.resolve(import.meta.dirname, "../../src/ui");
  const pages = (await readdir(folder)).filter((name) => name.endsWith(".html"));
  assert.ok(pages.length > 0);
  for (const name of pages) {
    const html = await readFile(path.join(folder, name), "utf8");
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, `${name}: inline script`);
    assert.doesNotMatch(html, /<style/, `${name}: style element`);
    assert.doesNotMatch(html, /\sstyle=/, `${name}: style attribute`);
    assert.doesNotMatch(html, /\son[a-z]+=/, `${name}: event-handler attribute`);
  }
});

test("with API keys, the console's files need none, while the API and other paths still do", async (t) => {
  const { app } = await buildTestApp({ environment: { API_KEYS: KEY } });
  t.after(() => app.close());
  for (const url of ["/ui", "/ui/console.js", "/ui/vendor/purify.js"]) {
    assert.equal((await app.inject({ method: "GET", url })).statusCode, 200, url);
  }
  const browser = await app.inject({ method: "GET", url: "/", headers: { accept: BROWSER_ACCEPT } });
  assert.equal(browser.statusCode, 302);
  for (const request of [
    { method: "GET", url: "/" },
    { method: "GET", url: "/v1/models" },
    { method: "GET", url: "/metrics" },
    { method: "POST", url: "/ui" },
    { method: "GET", url: "/uix" },
    { method: "GET", url: "/metrics", headers: { accept: BROWSER_ACCEPT } },
  ] as const) {
    const response = await app.inject(request);
    assert.equal(response.statusCode, 401, `${request.method} ${request.url}`);
  }
  const withKey = await app.inject({
    method: "GET",
    url: "/v1/models",
    headers: { authorization: `Bearer ${KEY}` },
  });
  assert.equal(withKey.statusCode, 200);
});

test("no path under /ui reaches a file outside the console's folder", async (t) => {
  const { app } = await buildTestApp({ environment: { API_KEYS: KEY } });
  t.after(() => app.close());
  for (const url of [
    "/ui/../package.json",
    "/ui/../../package.json",
    "/ui/..%2f..%2fpackage.json",
    "/ui/%2e%2e/%2e%2e/package.json",
    "/ui/vendor/../../../package.json",
    "/ui/../routes/ui.ts",
  ]) {
    const response = await app.inject({ method: "GET", url });
    assert.notEqual(response.statusCode, 200, url);
    assert.doesNotMatch(response.body, /"name": "llm-api-service"|uiRoutes/, url);
  }
});
