import type { FastifyRequest } from "fastify";

/** Every URL that matched no route shares this label, so random paths add no log or metric series. */
export const UNMATCHED_ROUTE = "unmatched";

const cachedLabel = Symbol("routeLabel");

type WithCachedLabel = FastifyRequest & { [cachedLabel]?: string };

/**
 * The route template (`/status/:job_id`), never the raw URL. Worked out once per request: the log
 * line, the metrics and the model call all ask, and Fastify's `routeOptions` builds a new object
 * on every read.
 */
export function routeLabel(request: FastifyRequest): string {
  const labelled = request as WithCachedLabel;
  const cached = labelled[cachedLabel];
  if (cached !== undefined) return cached;
  const label = request.is404 ? UNMATCHED_ROUTE : (request.routeOptions.url ?? UNMATCHED_ROUTE);
  labelled[cachedLabel] = label;
  return label;
}
