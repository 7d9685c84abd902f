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
