import type { Logger } from "pino";
import { ServiceError } from "./errors/service-error.ts";

const UNAVAILABLE = Symbol("unavailable dependency");

/**
 * Opens a dependency (the job queue, the knowledge store); when it cannot be opened (a read-only
 * or missing DATA_DIR volume, a bad file) the service still starts, so chat keeps working, while
 * `/ready` names the dependency and every call to it answers 503 NOT_READY.
 */
export function openOrUnavailable<T extends object>(name: string, open: () => T, logger: Logger): T {
  try {
    return open();
  } catch (error) {
    logger.error({ err: error, dependency: name }, `${name} could not be opened: serving without it`);
    return unavailableDependency<T>(name, error);
  }
}

export function isUnavailableDependency(value: object): boolean {
  return (value as { [UNAVAILABLE]?: boolean })[UNAVAILABLE] === true;
}

/** Every method rejects with NOT_READY, except `close`, which has nothing to close. */
function unavailableDependency<T extends object>(name: string, cause: unknown): T {
  const failure = () =>
    new ServiceError({
      code: "NOT_READY",
      message: `The ${name} is unavailable.`,
      retryAfterSeconds: 5,
      cause,
    });
  return new Proxy({} as T, {
    get(_target, property) {
      if (property === UNAVAILABLE) return true;
      if (property === "then") return undefined; // not a promise
      if (property === "kind") return "unavailable";
      if (property === "close") return async () => {};
      return async () => {
        throw failure();
      };
    },
  });
}
