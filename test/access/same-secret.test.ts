import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { sameSecret } from "../../src/access/key-digest.ts";

test("sameSecret is string equality, for any strings and a difference at any position", () => {
  fc.assert(
    fc.property(fc.string(), fc.string(), (left, right) => sameSecret(left, right) === (left === right)),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.string({ minLength: 1 }), fc.nat(), (secret, at) => {
      const position = at % secret.length;
      const changed = `${secret.slice(0, position)}${String.fromCharCode(secret.charCodeAt(position) ^ 1)}${secret.slice(position + 1)}`;
      return sameSecret(secret, secret) && !sameSecret(secret, changed) && !sameSecret(changed, secret);
    }),
    { numRuns: 2000 },
  );
  assert.equal(sameSecret("", ""), true);
  assert.equal(sameSecret("sk-abc", "sk-abcd"), false);
});
