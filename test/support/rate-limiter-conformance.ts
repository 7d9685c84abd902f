import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { test as nodeTest } from "node:test";
import { PARALLEL_LEASE_MS, RATE_WINDOW_MS, type RateLimiter } from "../../src/access/rate-limiter.ts";

/** The contract every rate limiter keeps, run against the in-process and the Redis one alike. */
export function rateLimiterConformance(
  name: string,
  test: typeof nodeTest,
  open: () => Promise<RateLimiter>,
): void {
  const subject = () => `key:${randomUUID()}`;
  let calls = 0;
  const call = (who: string, limits: object, now: number, tokens = 1) => ({
    subject: who,
    limits,
    tokens,
    id: ++calls,
    now,
  });

  test(`${name}: rpm admits exactly the limit in a sliding minute, then again once the oldest leaves`, async (t) => {
    const limiter = await open();
    t.after(() => limiter.close());
    const who = subject();
    const start = Date.now();
    for (let index = 0; index < 5; index += 1) {
      const decision = await limiter.acquire(call(who, { rpm: 5 }, start + index));
      assert.equal(decision.allowed, true);
      assert.equal(decision.requests?.remaining, 4 - index);
    }
    const refused = await limiter.acquire(call(who, { rpm: 5 }, start + 10));
    assert.equal(refused.allowed, false);
    assert.equal(refused.refusedBy, "requests");
    assert.equal(refused.retryAfterMs, RATE_WINDOW_MS - 10);
    assert.equal((await limiter.acquire(call(who, { rpm: 5 }, start + RATE_WINDOW_MS + 1))).allowed, true);
  });

  test(`${name}: tpm reserves, settles to the real usage, and refuses while the minute is full`, async (t) => {
    const limiter = await open();
    t.after(() => limiter.close());
    const who = subject();
    const now = Date.now();
    const first = call(who, { tpm: 100 }, now, 150);
    assert.equal(
      (await limiter.acquire(first)).allowed,
      true,
      "a call is admitted while the minute has room",
    );
    const full = await limiter.acquire(call(who, { tpm: 100 }, now + 1));
    assert.equal(full.allowed, false);
    assert.equal(full.refusedBy, "tokens");
    await limiter.settle(who, first.id, 30, now + 2);
    const after = await limiter.acquire(call(who, { tpm: 100 }, now + 3, 10));
    assert.equal(after.allowed, true, "settled to 30 tokens, the minute has room again");
    assert.equal(after.tokens?.remaining, 60);
  });

  test(`${name}: tokens leave the minute with their call; a call longer than the window counts from its end`, async (t) => {
    const limiter = await open();
    t.after(() => limiter.close());
    const who = subject();
    const now = Date.now();
    const settled = call(who, { tpm: 100 }, now, 40);
    const long = call(who, { tpm: 100 }, now + 10, 50);
    assert.equal((await limiter.acquire(settled)).allowed, true);
    assert.equal((await limiter.acquire(long)).allowed, true);
    await limiter.settle(who, settled.id, 40, now + 20);
    const inWindow = await limiter.acquire(call(who, { tpm: 100 }, now + 30, 5));
    assert.equal(inWindow.tokens?.remaining, 5, "40 + 50 + 5 of 100 are counted");
    // Both first calls leave the window; the long one is still running.
    const later = now + RATE_WINDOW_MS + 11;
    const afterWindow = await limiter.acquire(call(who, { tpm: 100 }, later, 1));
    assert.equal(afterWindow.tokens?.remaining, 94, "only the 5 and this 1 are left in the minute");
    await limiter.settle(who, long.id, 70, later + 1);
    const afterLong = await limiter.acquire(call(who, { tpm: 100 }, later + 2, 1));
    assert.equal(afterLong.tokens?.remaining, 23, "the long call's 70 real tokens count from its end");
  });

  test(`${name}: a parallel slot whose release never came is freed when its lease ends`, async (t) => {
    const limiter = await open();
    t.after(() => limiter.close());
    const who = subject();
    const now = Date.now();
    assert.equal((await limiter.acquire(call(who, { maxParallel: 1 }, now))).allowed, true);
    assert.equal((await limiter.acquire(call(who, { maxParallel: 1 }, now + 1))).refusedBy, "parallel");
    const afterLease = await limiter.acquire(call(who, { maxParallel: 1 }, now + PARALLEL_LEASE_MS + 1));
    assert.equal(afterLease.allowed, true);
  });

  test(`${name}: max_parallel counts open calls, and settling frees a slot`, async (t) => {
    const limiter = await open();
    t.after(() => limiter.close());
    const who = subject();
    const now = Date.now();
    const calls = [call(who, { maxParallel: 2 }, now), call(who, { maxParallel: 2 }, now)];
    for (const held of calls) assert.equal((await limiter.acquire(held)).allowed, true);
    const third = await limiter.acquire(call(who, { maxParallel: 2 }, now));
    assert.equal(third.refusedBy, "parallel");
    await limiter.settle(who, calls[0].id, 0, now + 1);
    assert.equal((await limiter.acquire(call(who, { maxParallel: 2 }, now + 2))).allowed, true);
  });

  test(`${name}: a refused call takes nothing; concurrent calls never pass the limit`, async (t) => {
    const limiter = await open();
    t.after(() => limiter.close());
    const who = subject();
    const now = Date.now();
    const decisions = await Promise.all(
      Array.from({ length: 50 }, () => limiter.acquire(call(who, { rpm: 20, maxParallel: 100 }, now))),
    );
    assert.equal(decisions.filter((decision) => decision.allowed).length, 20);
  });

  test(`${name}: calls of one turn are judged in order, each subject on its own`, async (t) => {
    const limiter = await open();
    t.after(() => limiter.close());
    const [first, second] = [subject(), subject()];
    const now = Date.now();
    const calls = Array.from({ length: 6 }, (_, index) =>
      call(index % 2 === 0 ? first : second, { rpm: 2 }, now),
    );
    const decisions = await Promise.all(calls.map((made) => limiter.acquire(made)));
    for (const who of [first, second]) {
      const own = decisions.filter((_, index) => calls[index].subject === who);
      assert.deepEqual(
        own.map((decision) => [decision.allowed, decision.requests?.remaining]),
        [
          [true, 1],
          [true, 0],
          [false, 0],
        ],
      );
    }
    // A key whose limit changed within the turn: every call counts against the same minute.
    const changed = subject();
    const mixed = await Promise.all(
      Array.from({ length: 6 }, (_, index) =>
        limiter.acquire(call(changed, { rpm: index % 2 === 0 ? 2 : 3 }, now)),
      ),
    );
    assert.equal(mixed.filter((decision) => decision.allowed).length, 3);
  });

  test(`${name}: spend counters start from the ledger once, then add`, async (t) => {
    const limiter = await open();
    t.after(() => limiter.close());
    const who = subject();
    let reads = 0;
    const initial = async () => {
      reads += 1;
      return 500;
    };
    assert.equal(await limiter.spend(who, "2026-12", initial, 60_000), 500);
    await limiter.addSpend(who, "2026-12", 250);
    assert.equal(await limiter.spend(who, "2026-12", initial, 60_000), 750);
    assert.equal(reads, 1);
    await limiter.addSpend(who, "2026-11", 99);
    assert.equal(
      await limiter.spend(who, "2026-11", async () => 7, 60_000),
      7,
      "an unstarted counter starts from the ledger",
    );
  });
}
