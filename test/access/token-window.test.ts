import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { TokenWindow } from "../../src/access/token-window.ts";

/** The window as a plain list: what TokenWindow must agree with, whatever it does inside. */
class ListWindow {
  entries: { id: number | undefined; time: number; tokens: number }[] = [];
  reserve(id: number, time: number, tokens: number) {
    this.entries.push({ id, time, tokens });
  }
  settle(id: number, used: number, now: number) {
    const entry = this.entries.find((candidate) => candidate.id === id);
    if (entry !== undefined) {
      entry.tokens = used;
      entry.id = undefined;
    } else if (used > 0) this.entries.push({ id: undefined, time: now, tokens: used });
  }
  dropThrough(time: number) {
    this.entries = this.entries.filter((entry) => entry.time > time);
  }
  get total() {
    return this.entries.reduce((sum, entry) => sum + entry.tokens, 0);
  }
}

const operation = fc.oneof(
  fc.record({
    kind: fc.constant("reserve" as const),
    tokens: fc.integer({ min: 0, max: 5000 }),
    count: fc.integer({ min: 1, max: 700 }),
  }),
  fc.record({
    kind: fc.constant("settle" as const),
    pick: fc.nat(),
    used: fc.integer({ min: 0, max: 5000 }),
  }),
  fc.record({ kind: fc.constant("drop" as const), back: fc.integer({ min: 0, max: 3000 }) }),
  fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 1, max: 500 }) }),
  fc.record({ kind: fc.constant("forget" as const) }),
);

test("the token window agrees with a plain list through reservations, settlements, drops, forgetting and growth past its first ring", () => {
  fc.assert(
    fc.property(fc.array(operation, { minLength: 1, maxLength: 60 }), (operations) => {
      const window = new TokenWindow();
      const model = new ListWindow();
      const issued: number[] = [];
      let now = 1_000_000;
      let next = 0;
      for (const step of operations) {
        if (step.kind === "reserve") {
          // Many at once, so the ring (1,024 at first) has to grow.
          for (let index = 0; index < step.count; index += 1) {
            const id = next++;
            issued.push(id);
            window.reserve(id, now, step.tokens);
            model.reserve(id, now, step.tokens);
          }
        } else if (step.kind === "settle" && issued.length > 0) {
          const id = issued[step.pick % issued.length];
          window.settle(id, step.used, now);
          model.settle(id, step.used, now);
        } else if (step.kind === "drop") {
          window.dropThrough(now - step.back);
          model.dropThrough(now - step.back);
        } else if (step.kind === "advance") {
          now += step.ms;
        } else if (step.kind === "forget") {
          // Memory only: what it forgets has left the window, so a late settlement counts the same.
          window.forgetLapsed();
        }
        assert.equal(window.total, model.total);
        assert.equal(window.oldestTime, model.entries[0]?.time);
        assert.equal(window.newestTime, model.entries.at(-1)?.time);
      }
    }),
    { numRuns: 300 },
  );
});

test("a ring that has wrapped keeps every reservation in order when it grows", () => {
  const window = new TokenWindow();
  // 1,000 reservations, 800 of them dropped, then 1,000 more: the ring of 1,024 wraps, then grows.
  for (let time = 1; time <= 1000; time += 1) window.reserve(time, time, 1);
  window.dropThrough(800);
  for (let time = 1001; time <= 2000; time += 1) window.reserve(time, time, 1);
  assert.equal(window.total, 1200);
  for (let through = 800; through < 2000; through += 100) {
    window.dropThrough(through);
    assert.equal(window.total, 2000 - through);
    assert.equal(window.oldestTime, through + 1);
  }
});
