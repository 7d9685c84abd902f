import type { Principal } from "./principal.ts";

/**
 * What a caller creates belongs to it: the virtual key's id, or null (no owner) for the admin key,
 * `API_KEYS` keys and open mode.
 */
export function ownerFor(principal: Principal | undefined): string | null {
  return principal?.kind === "virtual" ? principal.key.id : null;
}

/**
 * Whether the caller may see (and cancel, delete) a thing of `owner`: the admin key sees
 * everything; every other caller only what it owns (for callers without a virtual key, what has
 * no owner). Anything else is answered as if it did not exist.
 */
export function mayAccess(principal: Principal | undefined, owner: string | null | undefined): boolean {
  if (principal?.kind === "admin") return true;
  return (owner ?? null) === ownerFor(principal);
}

/**
 * The owner a caller's reads are filtered by: undefined (everything) for the admin key, otherwise
 * its own (`ownerFor`). Stores take undefined as "no filter", so only the admin key gets it.
 */
export function ownerFilterFor(principal: Principal | undefined): string | null | undefined {
  return principal?.kind === "admin" ? undefined : ownerFor(principal);
}
