import { APICallError } from "@ai-sdk/provider";
import { ServiceError } from "../errors/service-error.ts";
import type { UpstreamLimits } from "../llm/completion-request.ts";
import type { LlmCallHandle } from "../llm/llm-call-observer.ts";
import { mapUpstreamError } from "../llm/map-upstream-error.ts";
import type { ResolvedModel } from "../llm/model-registry.ts";
import { retryAfterMs } from "../llm/retry-after-ms.ts";
import type { AttemptOutcome, Deployment } from "./deployment.ts";
import type { DeploymentGroup } from "./deployment-group.ts";
import type { ModelRouter } from "./model-router.ts";

/** Where one attempt goes: the deployment, with its own time limit. */
export type RoutedTarget = Readonly<{
  group: DeploymentGroup;
  deployment: Deployment;
  /** The deployment's `timeout_ms` (or `LLM_TIMEOUT_MS`); retries only on a model of one deployment. */
  limits: UpstreamLimits;
  /** Counts from 1 over the whole call, fallbacks included (`x-llm-attempts`). */
  attempt: number;
}>;

export type RoutedCallOptions = Readonly<{
  /** Aborts when the client goes away. */
  signal: AbortSignal;
  /** `LLM_TIMEOUT_MS`, `LLM_IDLE_TIMEOUT_MS`, `LLM_MAX_RETRIES`. */
  limits: UpstreamLimits;
  handle: LlmCallHandle;
  /** Whether the call can go to a deployment's model at all; others are passed over. */
  accepts?: (model: ResolvedModel) => boolean;
  /** Nothing of the reply reached the client yet; after that a failure is thrown, never failed over. */
  mayFailOver?: () => boolean;
  /** Told before each attempt, so the answer can say who served it. */
  onAttempt?: (target: RoutedTarget) => void;
}>;

/**
 * Runs a call on a model's deployments: a failed attempt (connect error, 5xx, 429, timeout) puts its
 * deployment in cooldown and is retried at once on another healthy one, up to `LLM_MAX_RETRIES`
 * times; then the model's `fallbacks` are tried, in order, the same way (their own fallbacks after
 * them). Only when every one failed does the caller get an error: the most telling of them.
 *
 * A model of one deployment has nowhere to fail over to: its attempt retries on it (with backoff,
 * honouring Retry-After), exactly as a call did before routing.
 */
export async function runRoutedCall<T>(
  router: ModelRouter,
  group: DeploymentGroup,
  options: RoutedCallOptions,
  attempt: (target: RoutedTarget) => Promise<T>,
): Promise<T> {
  const accepts = options.accepts ?? (() => true);
  const mayFailOver = options.mayFailOver ?? (() => true);
  const visited = new Set<string>();
  let attempts = 0;
  let mostTelling: ServiceError | undefined;
  // A failure is reported as a retry once another attempt really follows it.
  let retryReason: string | undefined;

  const tryGroup = async (current: DeploymentGroup): Promise<{ value: T } | undefined> => {
    visited.add(current.name);
    const tried = new Set<Deployment>();
    const single = current.deployments.length === 1;
    for (let modelAttempt = 0; modelAttempt <= (single ? 0 : options.limits.maxRetries); modelAttempt += 1) {
      const leased = await current.lease({
        exclude: tried,
        accepts,
        signal: options.signal,
        maxWaitMs: options.limits.timeoutMs,
      });
      if (leased === undefined) break;
      const { deployment, lease } = leased;
      tried.add(deployment);
      if (retryReason !== undefined) options.handle.retry(retryReason);
      retryReason = undefined;
      attempts += 1;
      const target: RoutedTarget = {
        group: current,
        deployment,
        limits: {
          ...options.limits,
          timeoutMs: deployment.spec.timeoutMs ?? options.limits.timeoutMs,
          maxRetries: single ? options.limits.maxRetries : 0,
        },
        attempt: attempts,
      };
      options.onAttempt?.(target);
      let outcome: AttemptOutcome = "error";
      let waitMs: number | undefined;
      try {
        const value = await attempt(target);
        outcome = "success";
        return { value };
      } catch (error) {
        if (options.signal.aborted) {
          outcome = "cancelled";
          throw error;
        }
        // Sources report every upstream failure as a ServiceError; anything else is our own fault.
        if (!(error instanceof ServiceError)) throw error;
        const serviceError = mapUpstreamError(error);
        outcome = failureOutcome(serviceError);
        waitMs = serviceError.code === "UPSTREAM_RATE_LIMITED" ? askedWaitMs(serviceError) : undefined;
        if (outcome === "error" || !mayFailOver()) throw serviceError;
        mostTelling = moreTelling(mostTelling, serviceError);
        retryReason = RETRY_REASONS[outcome] ?? outcome;
      } finally {
        lease.finish(outcome, waitMs);
        if (current.tracked) router.observer.attempted(current.name, deployment.id, outcome);
      }
    }
    for (const name of current.fallbacks) {
      if (visited.has(name)) continue;
      const fallback = router.listed(name);
      if (fallback === undefined) continue;
      router.observer.fellBack(current.name, fallback.name);
      const result = await tryGroup(fallback);
      if (result !== undefined) return result;
    }
    return undefined;
  };

  const result = await tryGroup(group);
  if (result !== undefined) return result.value;
  throw mostTelling ?? noDeploymentLeft(group);
}

const RETRY_REASONS: Partial<Record<AttemptOutcome, string>> = {
  rate_limited: "rate_limited",
  server_error: "server_error",
  timeout: "timeout",
  unreachable: "connection_error",
};

/** The failures that say the deployment is unwell, and so are failed over; any other is about the request. */
function failureOutcome(error: ServiceError): AttemptOutcome {
  switch (error.code) {
    case "UPSTREAM_RATE_LIMITED":
      return "rate_limited";
    case "UPSTREAM_ERROR":
      return "server_error";
    case "UPSTREAM_TIMEOUT":
      return "timeout";
    case "UPSTREAM_UNAVAILABLE":
      return "unreachable";
    default:
      return "error";
  }
}

/**
 * Which failure the client is told of: an upstream's own answer (a 429 says when to come back, a
 * 5xx that it is failing) says more than a timeout, which says more than a refused connection; on
 * a tie, the first, which is the requested model's own.
 */
const RANK: Readonly<Record<string, number>> = {
  UPSTREAM_RATE_LIMITED: 4,
  UPSTREAM_ERROR: 3,
  UPSTREAM_TIMEOUT: 2,
  UPSTREAM_UNAVAILABLE: 1,
};

function moreTelling(current: ServiceError | undefined, next: ServiceError): ServiceError {
  if (current === undefined) return next;
  return (RANK[next.code] ?? 0) > (RANK[current.code] ?? 0) ? next : current;
}

function askedWaitMs(error: ServiceError): number | undefined {
  const cause = error.cause;
  return APICallError.isInstance(cause) ? retryAfterMs(cause.responseHeaders) : undefined;
}

/** No attempt could be made: every deployment of the model and its fallbacks is cooling down. */
function noDeploymentLeft(group: DeploymentGroup): ServiceError {
  const now = Date.now();
  const left = group.deployments
    .map((deployment) => deployment.health.cooldownLeftMs(now))
    .filter((ms) => ms > 0);
  const waitMs = left.length > 0 ? Math.min(...left) : 1000;
  return new ServiceError({
    code: "UPSTREAM_UNAVAILABLE",
    message: `Every deployment of ${group.name} is cooling down after failures; retry in a moment.`,
    retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
  });
}
