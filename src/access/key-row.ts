import type { BudgetPeriod, VirtualKey, VirtualKeyChanges } from "./virtual-key.ts";

/** A key as both SQL stores hold it: JSON for the lists and the metadata, numbers for times. */
export type KeyRow = {
  id: string;
  name: string;
  digest: string;
  models: string | null;
  rpm: number | string | null;
  tpm: number | string | null;
  max_parallel: number | string | null;
  budget_usd: number | string | null;
  budget_period: string;
  expires_at: number | string | null;
  metadata: string | null;
  created_at: number | string;
  updated_at: number | string;
  revoked_at: number | string | null;
  collections: string | null;
};

/** The columns of a key, in the order `keyValues` gives them. */
export const KEY_COLUMNS = [
  "id",
  "name",
  "digest",
  "models",
  "rpm",
  "tpm",
  "max_parallel",
  "budget_usd",
  "budget_period",
  "expires_at",
  "metadata",
  "created_at",
  "updated_at",
  "revoked_at",
  "collections",
] as const;

export function keyValues(key: VirtualKey): (string | number | null)[] {
  return [
    key.id,
    key.name,
    key.digest,
    key.models === null ? null : JSON.stringify(key.models),
    key.rpm,
    key.tpm,
    key.maxParallel,
    key.budgetUsd,
    key.budgetPeriod,
    key.expiresAt,
    key.metadata === null ? null : JSON.stringify(key.metadata),
    key.createdAt,
    key.updatedAt,
    key.revokedAt,
    key.collections === null ? null : JSON.stringify(key.collections),
  ];
}

const nullableNumber = (value: number | string | null): number | null =>
  value === null ? null : Number(value);

export function keyFromRow(row: KeyRow): VirtualKey {
  return {
    id: row.id,
    name: row.name,
    digest: row.digest,
    models: row.models === null ? null : (JSON.parse(row.models) as string[]),
    // A table from before collections has the column added empty: such keys have no limit.
    collections: row.collections === null ? null : (JSON.parse(row.collections) as string[]),
    rpm: nullableNumber(row.rpm),
    tpm: nullableNumber(row.tpm),
    maxParallel: nullableNumber(row.max_parallel),
    budgetUsd: nullableNumber(row.budget_usd),
    budgetPeriod: row.budget_period as BudgetPeriod,
    expiresAt: nullableNumber(row.expires_at),
    metadata: row.metadata === null ? null : (JSON.parse(row.metadata) as Record<string, unknown>),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    revokedAt: nullableNumber(row.revoked_at),
  };
}

/** The key with `changes` applied; both stores write the whole row back. */
export function changedKey(key: VirtualKey, changes: VirtualKeyChanges, now: number): VirtualKey {
  const defined = Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined));
  return { ...key, ...defined, updatedAt: now };
}
