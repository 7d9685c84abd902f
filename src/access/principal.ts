import type { VirtualKey } from "./virtual-key.ts";

/**
 * Who is calling, once authentication has run: the admin key, a virtual key, a key of the fixed
 * `API_KEYS` list, or anyone (open mode). Logs and usage rows name a virtual key by its id.
 */
export type Principal =
  | Readonly<{ kind: "admin" }>
  | Readonly<{ kind: "virtual"; key: VirtualKey }>
  | Readonly<{ kind: "static" }>
  | Readonly<{ kind: "open" }>;

/** The virtual key's id, or undefined for every other caller. */
export function keyIdOf(principal: Principal | undefined): string | undefined {
  return principal?.kind === "virtual" ? principal.key.id : undefined;
}

const virtualPrincipals = new WeakMap<VirtualKey, Principal>();

/**
 * The principal of a virtual key, one per key object (the key directory hands out the same
 * object until it re-reads the key): authentication runs on every request, and this spares each
 * one an allocation.
 */
export function virtualPrincipal(key: VirtualKey): Principal {
  let principal = virtualPrincipals.get(key);
  if (principal === undefined) {
    principal = { kind: "virtual", key };
    virtualPrincipals.set(key, principal);
  }
  return principal;
}
