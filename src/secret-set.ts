/** Shorter values are no secrets worth scrubbing (and would blank out ordinary words). */
const MIN_SECRET_LENGTH = 4;

/**
 * The values never to be written out (log lines, error bodies): the secrets configured at boot,
 * then the keys each models file reload brings. It only grows: a key that served once stays secret,
 * since lines about the calls it made may still be written after a reload removed it.
 */
export class SecretSet {
  #values: readonly string[];

  constructor(initial: Iterable<string | undefined> = []) {
    this.#values = [];
    this.add(initial);
  }

  /**
   * The secrets, longest first so that one that holds another is replaced whole. The same array
   * until an addition replaces it: the log scrubber reads it on every line without copying.
   */
  get values(): readonly string[] {
    return this.#values;
  }

  add(secrets: Iterable<string | undefined>): void {
    const added = [...secrets].filter(
      (secret): secret is string =>
        typeof secret === "string" && secret.length >= MIN_SECRET_LENGTH && !this.#values.includes(secret),
    );
    if (added.length === 0) return;
    this.#values = [...new Set([...this.#values, ...added])].sort((a, b) => b.length - a.length);
  }
}
