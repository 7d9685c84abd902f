export type CooldownSettings = Readonly<{ initialMs: number; maxMs: number }>;

/**
 * A deployment's circuit: closed while it answers; open (in cooldown) after a connect error, 5xx,
 * 429 or timeout, for `initialMs` doubling on each further failure up to `maxMs`, or for as long as
 * a 429's Retry-After asks; then half-open: one probe request is let through, and its success
 * closes the circuit again.
 *
 * Only what started after the circuit opened counts: the requests already in flight when an
 * upstream dies fail together, and must neither double the cooldown nor, by a late success, end it.
 */
export class DeploymentHealth {
  readonly #settings: CooldownSettings;
  #failures = 0;
  #openedAt = Number.NEGATIVE_INFINITY;
  #cooldownUntil = 0;
  #probing = false;

  constructor(settings: CooldownSettings) {
    this.#settings = settings;
  }

  /** Healthy: no cooldown, or one that has run out (the next request probes). */
  isUp(now: number): boolean {
    return now >= this.#cooldownUntil;
  }

  cooldownLeftMs(now: number): number {
    return Math.max(0, this.#cooldownUntil - now);
  }

  /** Whether a new request may go here now: healthy, and no probe already on its way. */
  accepts(now: number): boolean {
    return this.isUp(now) && !this.#probing;
  }

  /** A request starts here; true when it is the probe of a half-open circuit. */
  begin(now: number): boolean {
    if (this.#failures === 0 || now < this.#cooldownUntil) return false;
    this.#probing = true;
    return true;
  }

  /** Only the probe closes an open circuit: a success that started before it opened says nothing new. */
  succeeded(attempt: { probe: boolean }): void {
    if (!attempt.probe) return;
    this.#probing = false;
    this.#failures = 0;
    this.#cooldownUntil = 0;
  }

  /** The attempt failed in a way that says the deployment is unwell. */
  failed(attempt: { startedAt: number; probe: boolean }, now: number, retryAfterMs?: number): void {
    if (attempt.probe) this.#probing = false;
    const stale = !attempt.probe && attempt.startedAt < this.#openedAt;
    if (!stale) this.#failures += 1;
    const backoff = Math.min(
      this.#settings.maxMs,
      this.#settings.initialMs * 2 ** (Math.max(1, this.#failures) - 1),
    );
    const until = now + (retryAfterMs ?? backoff);
    if (stale && until <= this.#cooldownUntil) return;
    this.#openedAt = now;
    this.#cooldownUntil = Math.max(this.#cooldownUntil, until);
  }

  /** The attempt ended without saying anything of the deployment (the client left, a 400). */
  ended(attempt: { probe: boolean }): void {
    if (attempt.probe) this.#probing = false;
  }
}
