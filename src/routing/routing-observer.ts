import type { AttemptOutcome } from "./deployment.ts";

/** What routing reports, for the metrics; observability implements it, routing knows nothing of it. */
export type RoutingObserver = {
  /** One attempt on a catalog model's deployment ended. */
  attempted(model: string, deployment: string, outcome: AttemptOutcome): void;
  /** Every deployment of `model` failed and `fallback` is tried next. */
  fellBack(model: string, fallback: string): void;
};

export const noopRoutingObserver: RoutingObserver = { attempted() {}, fellBack() {} };
