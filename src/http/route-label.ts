import type { FastifyRequest } from "fastify";

/** Every URL that matched no route shares this label, so random paths add no log or metric series. */
export const UNMATCHED_ROUTE = "unmatched";

/** The route template (`/status/:job_id`), never the raw URL. */
export function routeLabel(request: FastifyRequest): string {
  return request.is404 ? UNMATCHED_ROUTE : (request.routeOptions.url ?? UNMATCHED_ROUTE);
}
