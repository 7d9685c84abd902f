import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { holdSecret, matchesHeldSecret } from "../../src/access/held-secret.ts";
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

test("a held secret matches exactly the strings equal to it: any length, odd or even, any code unit", () => {
  // Lone surrogates and characters past U+00FF included: each code unit is kept whole.
  const text = fc.string({ unit: "binary", maxLength: 80 });
  fc.assert(
    fc.property(
      text,
      text,
      (secret, candidate) => matchesHeldSecret(candidate, holdSecret(secret)) === (candidate === secret),
    ),
    { numRuns: 3000 },
  );
  fc.assert(
    fc.property(fc.string({ unit: "binary", minLength: 1, maxLength: 80 }), fc.nat(), (secret, at) => {
      const position = at % secret.length;
      const changed = `${secret.slice(0, position)}${String.fromCharCode(secret.charCodeAt(position) ^ 0x100)}${secret.slice(position + 1)}`;
      const held = holdSecret(secret);
      return matchesHeldSecret(secret, held) && !matchesHeldSecret(changed, held);
    }),
    { numRuns: 3000 },
  );
  // A candidate compared after a longer one: the half word past an odd length is not left over.
  const held = holdSecret("abc");
  assert.equal(matchesHeldSecret("abcdefgh", holdSecret("abcdefgh")), true);
  assert.equal(matchesHeldSecret("abc", held), true);
  assert.equal(matchesHeldSecret("abd", held), false);
  // Past the scratch buffer's length the comparison still answers, character by character.
  const long = "k".repeat(5000);
  assert.equal(matchesHeldSecret(long, holdSecret(long)), true);
  assert.equal(matchesHeldSecret(`${long.slice(0, -1)}x`, holdSecret(long)), false);
});
