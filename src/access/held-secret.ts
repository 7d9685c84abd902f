import { sameSecret } from "./key-digest.ts";

/**
 * A secret kept to be compared with later candidates in constant time: its UTF-16 code units, two
 * to a 32-bit word (the last odd one beside a zero), so a comparison reads two characters at a
 * step and never calls `charCodeAt`. Each code unit is kept whole, so equal words mean equal strings.
 */
export type HeldSecret = Readonly<{ text: string; words: Int32Array }>;

/** Candidates up to this length are compared word by word; a longer one (no real key) by `sameSecret`. */
const SCRATCH_CHARACTERS = 2048;
// One buffer for every comparison: `Buffer.alloc` of this size is never a slice of Node's pool,
// so the word view starts at its first byte.
const scratch = Buffer.alloc(SCRATCH_CHARACTERS * 2);
const scratchWords = new Int32Array(scratch.buffer, scratch.byteOffset, scratch.length / 4);

export function holdSecret(text: string): HeldSecret {
  const bytes = Buffer.alloc(Math.ceil(text.length / 2) * 4);
  bytes.write(text, 0, "utf16le");
  return { text, words: new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4) };
}

/**
 * Whether `candidate` is the held secret, in a time that depends on the lengths only, as
 * `sameSecret`, at about half its cost: the credential header of every kept-alive request is
 * compared this way with the one its connection sent last.
 */
export function matchesHeldSecret(candidate: string, held: HeldSecret): boolean {
  const length = candidate.length;
  if (length !== held.text.length) return false;
  if (length > SCRATCH_CHARACTERS) return sameSecret(candidate, held.text);
  scratch.write(candidate, 0, "utf16le");
  // An odd length leaves half a word: zero it, as `holdSecret` pads.
  if (length % 2 === 1) {
    scratch[length * 2] = 0;
    scratch[length * 2 + 1] = 0;
  }
  const { words } = held;
  let difference = 0;
  for (let index = 0; index < words.length; index += 1) {
    difference |= scratchWords[index] ^ words[index];
  }
  return difference === 0;
}
