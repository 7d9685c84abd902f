import { ServiceError } from "../errors/service-error.ts";

/**
 * What a stream that stopped before the provider said the reply was complete becomes, whichever
 * way it was read: a truncated answer must never pass for a finished one.
 */
export function streamEndedEarly(): ServiceError {
  return new ServiceError({
    code: "UPSTREAM_ERROR",
    message: "The model provider's stream ended before the reply was complete.",
  });
}
