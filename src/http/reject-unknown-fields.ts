import type { FastifyRequest } from "fastify";
import { ServiceError } from "../errors/service-error.ts";

/**
 * A `preValidation` hook that refuses a body field the schema does not name, by name: the
 * validator would otherwise drop it silently (`removeAdditional`).
 */
export function rejectUnknownFields(known: readonly string[]) {
  const allowed = new Set(known);
  return async (request: FastifyRequest) => {
    const body = request.body;
    if (typeof body !== "object" || body === null || Array.isArray(body)) return;
    for (const field of Object.keys(body)) {
      if (!allowed.has(field)) {
        throw new ServiceError({
          code: "VALIDATION_FAILED",
          message: `body.${field.slice(0, 100)} is not a known field`,
          param: field.slice(0, 100),
        });
      }
    }
  };
}
