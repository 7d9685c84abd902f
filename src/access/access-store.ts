import type { UsageQuery, UsageRow, UsageTotal } from "./usage-row.ts";
import type { VirtualKey, VirtualKeyChanges } from "./virtual-key.ts";

/**
 * Where virtual keys and the usage ledger live: SQLite in `DATA_DIR`, or PostgreSQL with
 * `DATABASE_URL` so that every replica sees the same keys. Both pass one conformance suite
 * (test/support/access-store-conformance.ts).
 */
export type AccessStore = {
  createKey(key: VirtualKey): Promise<void>;
  listKeys(): Promise<VirtualKey[]>;
  getKey(id: string): Promise<VirtualKey | undefined>;
  findKeyByDigest(digest: string): Promise<VirtualKey | undefined>;
  /** The key after the change, or undefined when there is no such key. */
  updateKey(id: string, changes: VirtualKeyChanges, now: number): Promise<VirtualKey | undefined>;
  /** Marks the key revoked; false when there is no such key. */
  revokeKey(id: string, now: number): Promise<boolean>;
  /** Writes rows in one transaction: all or none. */
  insertUsage(rows: readonly UsageRow[]): Promise<void>;
  /**
   * Whether `insertUsage` failed for a value in the rows (one the store cannot hold, a broken
   * constraint) rather than for the store itself: the same rows would fail again, however often.
   */
  rejectsRows(error: unknown): boolean;
  queryUsage(query: UsageQuery): Promise<UsageTotal[]>;
  /** The key's cost since `from` (ms), in billionths of a dollar. */
  spendSince(keyId: string, from: number): Promise<number>;
  ping(): Promise<void>;
  close(): Promise<void>;
};
