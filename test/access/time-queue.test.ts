import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { TimeQueue } from "../../src/access/time-queue.ts";

const operation = fc.oneof(
  // Many at one time, so runs are counted; many distinct times, so the ring (256 at first) grows.
  fc.record({
    kind: fc.constant("push" as const),
    count: fc.integer({ min: 1, max: 40 }),
    spreadMs: fc.integer({ min: 0, max: 3 }),
  }),
  fc.record({ kind: fc.constant("drop" as const), back: fc.integer({ min: 0, max: 3000 }) }),
  fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 1, max: 500 }) }),
);

test("the time queue agrees with a plain list through pushes at one time and many, drops and growth past its first ring", () => {
  fc.assert(
    fc.property(fc.array(operation, { minLength: 1, maxLength: 80 }), (operations) => {
      const queue = new TimeQueue();
      let model: number[] = [];
      let now = 1_000_000;
      for (const step of operations) {
        if (step.kind === "push") {
          for (let index = 0; index < step.count; index += 1) {
            queue.push(now);
            model.push(now);
            now += step.spreadMs;
          }
        } else if (step.kind === "drop") {
          queue.dropThrough(now - step.back);
          model = model.filter((time) => time > now - step.back);
        } else {
          now += step.ms;
        }
        assert.equal(queue.length, model.length);
        assert.equal(queue.oldest, model[0]);
        assert.equal(queue.newest, model.at(-1));
      }
    }),
    { numRuns: 300 },
  );
});

test("a time earlier than the newest (a clock stepped back) is held until the newest leaves", () => {
  const queue = new TimeQueue();
  queue.push(1000);
  queue.push(900);
  assert.equal(queue.length, 2);
  queue.dropThrough(950);
  assert.equal(queue.length, 2, "neither left: the late one counts from the newest time");
  queue.dropThrough(1000);
  assert.equal(queue.length, 0);
});

test("a ring that has wrapped keeps every time in order when it grows", () => {
  const queue = new TimeQueue();
  // 200 distinct times, 150 of them dropped, then 300 more: the ring of 256 wraps, then grows.
  for (let time = 1; time <= 200; time += 1) queue.push(time);
  queue.dropThrough(150);
  for (let time = 201; time <= 500; time += 1) queue.push(time);
  assert.equal(queue.length, 350);
  for (let through = 150; through <= 500; through += 25) {
    queue.dropThrough(through);
    assert.equal(queue.length, 500 - through);
    assert.equal(queue.oldest, through === 500 ? undefined : through + 1);
  }
});
