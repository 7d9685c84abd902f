import assert from "node:assert/strict";
import { test } from "node:test";
import { TickBatcher } from "../../src/access/tick-batcher.ts";

test("items added in one turn reach flush once per group, in order, and each gets its own result", async () => {
  const flushed: [string, number[]][] = [];
  const batcher = new TickBatcher<number, string>(async (group, items) => {
    flushed.push([group, [...items]]);
    return items.map((item) => `${group}:${item}`);
  });
  const results = await Promise.all([batcher.add("a", 1), batcher.add("b", 2), batcher.add("a", 3)]);
  assert.deepEqual(results, ["a:1", "b:2", "a:3"]);
  assert.deepEqual(flushed, [
    ["a", [1, 3]],
    ["b", [2]],
  ]);
  // The next turn is a batch of its own.
  assert.equal(await batcher.add("a", 4), "a:4");
  assert.deepEqual(flushed.at(-1), ["a", [4]]);
});

test("a failed flush fails every item of its batch, and only those", async () => {
  const batcher = new TickBatcher<number, number>(async (group, items) => {
    if (group === "down") throw new Error("store is down");
    return items;
  });
  const outcomes = await Promise.allSettled([
    batcher.add("down", 1),
    batcher.add("up", 2),
    batcher.add("down", 3),
  ]);
  assert.deepEqual(
    outcomes.map((outcome) => (outcome.status === "fulfilled" ? outcome.value : outcome.reason.message)),
    ["store is down", 2, "store is down"],
  );
});

test("a flush that answers a different number of results fails its batch instead of leaving items unanswered", async () => {
  const batcher = new TickBatcher<number, number>(async (_group, items) => items.slice(1));
  const outcomes = await Promise.allSettled([batcher.add("g", 1), batcher.add("g", 2)]);
  assert.deepEqual(
    outcomes.map((outcome) => outcome.status),
    ["rejected", "rejected"],
  );
});

test("a group's batch holds at most maxItems: a larger turn is flushed as several batches, in order", async () => {
  const flushed: number[][] = [];
  const batcher = new TickBatcher<number, number>(async (_group, items) => {
    flushed.push([...items]);
    return items;
  }, 2);
  const results = await Promise.all([1, 2, 3, 4, 5].map((item) => batcher.add("g", item)));
  assert.deepEqual(results, [1, 2, 3, 4, 5]);
  assert.deepEqual(flushed, [[1, 2], [3, 4], [5]]);
});
