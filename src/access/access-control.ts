import { ServiceError } from "../errors/service-error.ts";
import type { AccessStore } from "./access-store.ts";
import { periodWindow } from "./budget-period.ts";
import type { PriceList } from "./price-list.ts";
import type { Principal } from "./principal.ts";
import type { LimitDecision, RateLimiter } from "./rate-limiter.ts";
import type { UsageLedger } from "./usage-ledger.ts";
import { type AccessLimits, limitsOf, type VirtualKey } from "./virtual-key.ts";

/** How long a spend counter lives at most before it is read again from the ledger. */
const TOTAL_BUDGET_COUNTER_TTL_MS = 24 * 3600_000;

/** One model call asking to go ahead. */
export type CallRequest = Readonly<{
  principal: Principal | undefined;
  /** The client's address: the subject of `RATE_LIMIT_*` for callers without a virtual key. */
  address: string;
  requestId: string;
  /** `openai:gpt-4o-mini`, `echo`: what `models` restrictions and prices name. */
  modelName: string;
  modelId: string;
  deployment: string;
  /** Tokens reserved until the call settles: the prompt estimate plus `max_tokens`, or a default. */
  reservedTokens: number;
}>;

export type CallResult = Readonly<{
  outcome: string;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  durationMs: number;
  /** The deployment that served it, when routing knows (`model/id`); the admitted one otherwise. */
  deployment?: string;
}>;

/** Headers by lowercase name: a reply's own record of them, or a 429's. */
export type HeadersByName = Record<string, unknown>;

/** An admitted call: its rate-limit headers, and `end`, to be called once when it is over. */
export type AdmittedCall = Readonly<{
  /** Sets the call's `x-ratelimit-*` headers in `headers` (none when no limit applies). */
  writeHeaders(headers: HeadersByName): void;
  /** Settles the reservation, frees the slot and writes the ledger row; a call that never reached the model passes nothing. */
  end(result?: CallResult): void;
}>;

export type AccessControlOptions = {
  store: Pick<AccessStore, "spendSince">;
  limiter: RateLimiter;
  ledger: UsageLedger;
  prices: PriceList;
  /** `RATE_LIMIT_*`: limits per client address for callers without a virtual key. */
  addressLimits: AccessLimits;
  now?: () => number;
};

/** What admission works out from a key, once per key object (the key directory hands out the same object until it re-reads it). */
type KeyTerms = Readonly<{ subject: string; limits: AccessLimits }>;
const keyTerms = new WeakMap<VirtualKey, KeyTerms>();
function termsOf(key: VirtualKey): KeyTerms {
  let terms = keyTerms.get(key);
  if (terms === undefined) {
    terms = { subject: `key:${key.id}`, limits: limitsOf(key) };
    keyTerms.set(key, terms);
  }
  return terms;
}

const noLimits = (limits: AccessLimits) =>
  limits.rpm === undefined && limits.tpm === undefined && limits.maxParallel === undefined;

/**
 * Admission of each model call: the key's `models`, its budget, its rate limits (or the address's),
 * and after the call the settlement: real tokens, the slot freed, the cost counted, the ledger row.
 */
export class AccessControl {
  readonly #options: AccessControlOptions;
  readonly #now: () => number;
  /** Names each call's reservation and parallel slot in the limiter (see `LimitAcquire.id`). */
  #calls = 0;

  constructor(options: AccessControlOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  get prices(): PriceList {
    return this.#options.prices;
  }

  async admit(call: CallRequest): Promise<AdmittedCall> {
    const { principal } = call;
    const key = principal?.kind === "virtual" ? principal.key : undefined;
    if (
      key !== undefined &&
      key.models !== null &&
      !key.models.includes(call.modelName) &&
      !key.models.includes(call.modelId)
    ) {
      throw new ServiceError({
        code: "MODEL_NOT_ALLOWED",
        message: `This key may not use the model ${call.modelName}.`,
        param: "model",
      });
    }
    const now = this.#now();
    // Only a key with a budget has a period to count spend in (working one out costs Date objects).
    const period =
      key === undefined || key.budgetUsd === null ? undefined : periodWindow(key.budgetPeriod, now);
    if (key !== undefined && key.budgetUsd !== null && period !== undefined) {
      const spent = await this.#options.limiter.spend(
        termsOf(key).subject,
        period.name,
        () => this.#options.store.spendSince(key.id, period.start),
        Math.min(period.end - now, TOTAL_BUDGET_COUNTER_TTL_MS),
      );
      if (spent >= key.budgetUsd * 1e9) {
        throw new ServiceError({
          code: "INSUFFICIENT_QUOTA",
          message: `This key has spent its budget of $${key.budgetUsd} for the ${key.budgetPeriod === "total" ? "whole of its life" : key.budgetPeriod}; it is refused until the period turns.`,
          retryAfterSeconds:
            period.end === Number.POSITIVE_INFINITY ? undefined : Math.ceil((period.end - now) / 1000),
        });
      }
    }

    const terms = key === undefined ? undefined : termsOf(key);
    const limits = terms === undefined ? this.#options.addressLimits : terms.limits;
    let decision: LimitDecision | undefined;
    let subject = "";
    let id = 0;
    if (!noLimits(limits)) {
      subject = terms === undefined ? `address:${call.address}` : terms.subject;
      this.#calls += 1;
      id = this.#calls;
      const { limiter } = this.#options;
      const acquire = { subject, limits, tokens: call.reservedTokens, id, now };
      decision =
        limiter.acquireNow !== undefined ? limiter.acquireNow(acquire) : await limiter.acquire(acquire);
      if (!decision.allowed) {
        throw rateLimitError(decision);
      }
    }
    let ended = false;
    return {
      writeHeaders: (headers) => {
        if (decision !== undefined) writeRateLimitHeaders(decision, headers);
      },
      end: (result) => {
        if (ended) return;
        ended = true;
        const endedAt = this.#now();
        const used = result === undefined ? 0 : result.inputTokens + result.outputTokens;
        const { limiter } = this.#options;
        if (decision !== undefined) {
          if (limiter.settleNow !== undefined) limiter.settleNow(subject, id, used, endedAt);
          else void limiter.settle(subject, id, used, endedAt).catch(() => {});
        }
        if (result === undefined) return;
        const cost = this.#options.prices.costOf(call.modelName, call.modelId, result);
        if (key !== undefined && key.budgetUsd !== null && period !== undefined && cost > 0) {
          void this.#options.limiter.addSpend(termsOf(key).subject, period.name, cost).catch(() => {});
        }
        this.#options.ledger.record({
          time: endedAt,
          keyId: key?.id ?? null,
          model: call.modelName,
          deployment: result.deployment ?? call.deployment,
          inputTokens: result.inputTokens,
          outputTokens: result.outputTokens,
          cachedInputTokens: result.cachedInputTokens,
          costNanoUsd: cost,
          durationMs: result.durationMs,
          outcome: result.outcome,
          requestId: call.requestId,
        });
      },
    };
  }
}

/** A 429 that carries OpenAI's rate-limit headers besides `Retry-After`. */
function rateLimitError(decision: LimitDecision): ServiceError {
  const what =
    decision.refusedBy === "requests"
      ? `its limit of ${decision.requests?.limit} requests per minute`
      : decision.refusedBy === "tokens"
        ? `its limit of ${decision.tokens?.limit} tokens per minute`
        : "its limit of calls in parallel";
  return new ServiceError({
    code: "RATE_LIMIT_EXCEEDED",
    message: `Rate limit reached: this caller is at ${what}. Retry after the time in Retry-After.`,
    retryAfterSeconds: Math.max(1, Math.ceil(decision.retryAfterMs / 1000)),
    headers: rateLimitHeaders(decision),
  });
}

/** OpenAI's `x-ratelimit-*` headers for the limits that apply. */
export function rateLimitHeaders(decision: LimitDecision): Record<string, string> {
  const headers: Record<string, string> = {};
  writeRateLimitHeaders(decision, headers);
  return headers;
}

/**
 * The same headers, stored in `headers`: every answer of a limited key carries them, so they are
 * stored under literal names, which V8 compiles to plain stores, into the reply's own record (see
 * `replyHeaderRecord`). A key's limits, and a full window's reset time, are the same call after
 * call: the text of each is kept from the last call, as `lastText` does.
 */
function writeRateLimitHeaders(decision: LimitDecision, headers: HeadersByName): void {
  const { requests, tokens } = decision;
  if (requests !== undefined) {
    headers["x-ratelimit-limit-requests"] = requestsLimitText(requests.limit);
    headers["x-ratelimit-remaining-requests"] = String(requests.remaining);
    headers["x-ratelimit-reset-requests"] = requestsResetText(Math.ceil(requests.resetMs));
  }
  if (tokens !== undefined) {
    headers["x-ratelimit-limit-tokens"] = tokensLimitText(tokens.limit);
    headers["x-ratelimit-remaining-tokens"] = String(tokens.remaining);
    headers["x-ratelimit-reset-tokens"] = tokensResetText(Math.ceil(tokens.resetMs));
  }
}

/** `text`, remembering its last answer: called again with the same number, it formats nothing. */
function lastText(text: (value: number) => string): (value: number) => string {
  let lastValue = Number.NaN;
  let lastAnswer = "";
  return (value) => {
    if (value !== lastValue) {
      lastValue = value;
      lastAnswer = text(value);
    }
    return lastAnswer;
  };
}

const requestsLimitText = lastText(String);
const tokensLimitText = lastText(String);
const requestsResetText = lastText(formatDuration);
const tokensResetText = lastText(formatDuration);

/** OpenAI's duration format: `1m0s`, `6s`, `120ms`. */
export function formatDuration(milliseconds: number): string {
  const rounded = Math.max(0, Math.ceil(milliseconds));
  if (rounded < 1000) return `${rounded}ms`;
  const seconds = Math.ceil(rounded / 1000);
  if (seconds < 60) return `${seconds}s`;
  return `${Math.floor(seconds / 60)}m${seconds % 60}s`;
}
