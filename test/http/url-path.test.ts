import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { urlPath } from "../../src/http/url-path.ts";

test("a URL's path is everything before its first question mark, or the whole URL without one", () => {
  assert.equal(urlPath("/health"), "/health");
  assert.equal(urlPath("/health?verbose=1?x"), "/health");
  assert.equal(urlPath("?only=query"), "");
  fc.assert(
    fc.property(fc.string(), (url) => {
      assert.equal(urlPath(url), url.split("?")[0]);
    }),
  );
});
