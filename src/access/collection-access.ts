import { ServiceError } from "../errors/service-error.ts";
import type { Principal } from "./principal.ts";

/**
 * The collections a caller may use: a virtual key's `collections`, or undefined for no limit (a
 * key without the field, the admin key, `API_KEYS` keys, open mode).
 */
export function allowedCollections(principal: Principal | undefined): readonly string[] | undefined {
  return principal?.kind === "virtual" ? (principal.key.collections ?? undefined) : undefined;
}

/**
 * Refuses a collection outside the key's `collections` with 403 COLLECTION_NOT_ALLOWED naming it,
 * as `models` refuses a model. The caller passes the collection the request resolves to (the
 * default one when it names none), so a limited key cannot reach `default` by leaving it out.
 */
export function checkCollectionAllowed(
  principal: Principal | undefined,
  collection: string,
  param = "collection",
): void {
  const allowed = allowedCollections(principal);
  if (allowed === undefined || allowed.includes(collection)) return;
  throw new ServiceError({
    code: "COLLECTION_NOT_ALLOWED",
    message: `This key may not use the knowledge collection ${collection}.`,
    param,
  });
}
