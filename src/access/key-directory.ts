import type { AccessStore } from "./access-store.ts";
import type { VirtualKey } from "./virtual-key.ts";

export type KeyDirectoryOptions = {
  store: Pick<AccessStore, "findKeyByDigest">;
  /** How long a looked-up key (or its absence) is trusted; revocations reach every replica within it. */
  ttlMs?: number;
  /** Digests remembered at most, so a flood of wrong keys cannot grow memory without bound. */
  maxEntries?: number;
  now?: () => number;
};

/** How long a key's last answer is used while the store cannot be read. */
const STALE_WHILE_DOWN_MS = 5 * 60_000;

type Entry = { key: VirtualKey | undefined; fetchedAt: number };

/**
 * Finds the virtual key behind a presented secret by its SHA-256 digest. The store's index
 * lookup is by digest, so no comparison ever involves the secret itself. Answers are cached for
 * `ttlMs` (1 s by default): a revoked or changed key is seen on every replica within that.
 */
export class KeyDirectory {
  readonly #store: KeyDirectoryOptions["store"];
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();
  readonly #lookups = new Map<string, Promise<VirtualKey | undefined>>();

  constructor(options: KeyDirectoryOptions) {
    this.#store = options.store;
    this.#ttlMs = options.ttlMs ?? 1000;
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /**
   * The key whose secret has this SHA-256 digest (hex, as `digestKey` makes it: the caller has
   * worked it out already, to compare with the fixed keys), or undefined when no key has it.
   * Throws when the store cannot be read.
   */
  async find(digest: string): Promise<VirtualKey | undefined> {
    const known = this.known(digest);
    if (known !== undefined) return known.key;
    let lookup = this.#lookups.get(digest);
    if (lookup === undefined) {
      lookup = this.#lookUp(digest, this.#entries.get(digest)).finally(() => this.#lookups.delete(digest));
      this.#lookups.set(digest, lookup);
    }
    return lookup;
  }

  /**
   * The answer `find` would give from what is cached, without waiting: `{ key }` (the key, or
   * undefined for no such key) while it is fresh, undefined when only the store can tell. `now`
   * is the caller's reading of the clock, when it has one.
   */
  known(digest: string, now = this.#now()): { key: VirtualKey | undefined } | undefined {
    const entry = this.#entries.get(digest);
    return entry !== undefined && now - entry.fetchedAt < this.#ttlMs ? entry : undefined;
  }

  /** Forgets everything, so a change made on this replica is seen here at once. */
  forgetAll(): void {
    this.#entries.clear();
  }

  async #lookUp(digest: string, stale: Entry | undefined): Promise<VirtualKey | undefined> {
    let key: VirtualKey | undefined;
    try {
      key = await this.#store.findKeyByDigest(digest);
    } catch (error) {
      // While the store is down nothing can be revoked in it either, so a key read before the
      // outage keeps its last answer for a while rather than failing every call.
      if (stale !== undefined && this.#now() - stale.fetchedAt < STALE_WHILE_DOWN_MS) return stale.key;
      throw error;
    }
    if (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.delete(digest);
    this.#entries.set(digest, { key, fetchedAt: this.#now() });
    return key;
  }
}
