import { hash, randomBytes } from "node:crypto";

/** The prefix of every virtual key, as OpenAI's keys look, so SDKs and secret scanners know it. */
export const VIRTUAL_KEY_PREFIX = "sk-";

/** A new virtual key: 32 random bytes, base64url, behind the prefix. */
export function newKeySecret(): string {
  return `${VIRTUAL_KEY_PREFIX}${randomBytes(32).toString("base64url")}`;
}

/** The only form in which a key is stored: its SHA-256, hex. */
export function digestKey(secret: string): string {
  return hash("sha256", secret, "hex");
}

/**
 * Whether two strings are equal, in a time that depends on their lengths only (not on where they
 * first differ): every character is compared, with no early exit. For a secret already in memory
 * as a string, this spares turning both into buffers for `timingSafeEqual`.
 */
export function sameSecret(left: string, right: string): boolean {
  if (left.length !== right.length) return false;
  let difference = 0;
  for (let index = 0; index < left.length; index += 1) {
    difference |= left.charCodeAt(index) ^ right.charCodeAt(index);
  }
  return difference === 0;
}
