/** What a key's spend is counted over before `budget_usd` stops it. */
export const BudgetPeriods = ["day", "month", "total"] as const;
export type BudgetPeriod = (typeof BudgetPeriods)[number];

/** The limits a caller runs under; an undefined limit does not apply. */
export type AccessLimits = Readonly<{
  rpm?: number;
  tpm?: number;
  maxParallel?: number;
}>;

/** A virtual key as the store keeps it: never the secret, only its digest. */
export type VirtualKey = Readonly<{
  id: string;
  name: string;
  digest: string;
  /** When set, the only models this key may call. */
  models: readonly string[] | null;
  /** When set, the only knowledge collections this key may ingest into, search, list and ground on. */
  collections: readonly string[] | null;
  rpm: number | null;
  tpm: number | null;
  maxParallel: number | null;
  budgetUsd: number | null;
  budgetPeriod: BudgetPeriod;
  /** Milliseconds since the epoch; null for never. */
  expiresAt: number | null;
  metadata: Readonly<Record<string, unknown>> | null;
  createdAt: number;
  updatedAt: number;
  revokedAt: number | null;
}>;

/** What `PATCH /admin/keys/{id}` may change; null clears a limit. */
export type VirtualKeyChanges = Partial<
  Pick<
    VirtualKey,
    | "name"
    | "models"
    | "collections"
    | "rpm"
    | "tpm"
    | "maxParallel"
    | "budgetUsd"
    | "budgetPeriod"
    | "expiresAt"
    | "metadata"
  >
>;

/** Whether the key may be used at `now`. */
export function isKeyUsable(key: VirtualKey, now: number): boolean {
  return key.revokedAt === null && (key.expiresAt === null || key.expiresAt > now);
}

export function limitsOf(key: VirtualKey): AccessLimits {
  return {
    rpm: key.rpm ?? undefined,
    tpm: key.tpm ?? undefined,
    maxParallel: key.maxParallel ?? undefined,
  };
}
