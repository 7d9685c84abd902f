import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { test as nodeTest } from "node:test";
import type { AccessStore } from "../../src/access/access-store.ts";
import { digestKey, newKeySecret } from "../../src/access/key-digest.ts";
import { UsageLedger } from "../../src/access/usage-ledger.ts";
import type { UsageRow } from "../../src/access/usage-row.ts";
import type { VirtualKey } from "../../src/access/virtual-key.ts";

/** A key with every field set, for stores to keep and give back as it is. */
export function newKey(overrides: Partial<VirtualKey> = {}): VirtualKey {
  const now = Date.now();
  return {
    id: `key_${randomUUID().replaceAll("-", "").slice(0, 24)}`,
    name: "team",
    digest: digestKey(newKeySecret()),
    models: ["echo", "openai:gpt-4o-mini"],
    collections: ["hr", "default"],
    rpm: 30,
    tpm: null,
    maxParallel: 2,
    budgetUsd: 0.5,
    budgetPeriod: "month",
    expiresAt: null,
    metadata: { team: "a", nested: { n: 1 } },
    createdAt: now,
    updatedAt: now,
    revokedAt: null,
    ...overrides,
  };
}

function row(overrides: Partial<UsageRow>): UsageRow {
  return {
    time: Date.UTC(2026, 11, 1, 12),
    keyId: null,
    model: "echo",
    deployment: "echo",
    inputTokens: 10,
    outputTokens: 5,
    cachedInputTokens: 2,
    costNanoUsd: 1000,
    durationMs: 12.4,
    outcome: "success",
    requestId: randomUUID(),
    ...overrides,
  };
}

/** The contract both key stores keep: keys by id and digest, changes, revocation, the ledger's sums. */
export function accessStoreConformance(
  name: string,
  test: typeof nodeTest,
  open: () => Promise<AccessStore>,
): void {
  test(`${name}: keys are created, found by id and by digest, listed, changed and revoked`, async (t) => {
    const store = await open();
    t.after(() => store.close());
    const key = newKey();
    await store.createKey(key);
    assert.deepEqual(await store.getKey(key.id), key);
    assert.deepEqual(await store.findKeyByDigest(key.digest), key);
    assert.equal(await store.findKeyByDigest(digestKey("nope")), undefined);
    assert.ok((await store.listKeys()).some((listed) => listed.id === key.id));

    const changed = await store.updateKey(
      key.id,
      { rpm: null, name: "renamed", models: null },
      key.createdAt + 5,
    );
    assert.equal(changed?.rpm, null);
    assert.equal(changed?.name, "renamed");
    assert.equal(changed?.maxParallel, 2, "what the change leaves out stays");
    assert.deepEqual(await store.getKey(key.id), changed);
    assert.equal(await store.updateKey("key_missing", { name: "x" }, Date.now()), undefined);
    assert.deepEqual(changed?.collections, ["hr", "default"], "the collections stay when left out");
    const narrowed = await store.updateKey(key.id, { collections: ["sales"] }, key.createdAt + 6);
    assert.deepEqual((await store.getKey(key.id))?.collections, ["sales"]);
    assert.equal(narrowed?.name, "renamed");
    await store.updateKey(key.id, { collections: null }, key.createdAt + 7);
    assert.equal((await store.getKey(key.id))?.collections, null, "null clears the limit");

    assert.equal(await store.revokeKey(key.id, key.createdAt + 10), true);
    assert.equal((await store.getKey(key.id))?.revokedAt, key.createdAt + 10);
    assert.equal(await store.revokeKey("key_missing", Date.now()), false);
    await assert.rejects(store.createKey({ ...newKey(), digest: key.digest }), "a digest is unique");
  });

  test(`${name}: the ledger sums requests, tokens and cost, filtered and grouped, exactly`, async (t) => {
    const store = await open();
    t.after(() => store.close());
    const [a, b] = [`key_a_${randomUUID()}`, `key_b_${randomUUID()}`];
    const day1 = Date.UTC(2026, 10, 30, 23, 59);
    const day2 = Date.UTC(2026, 11, 1, 0, 1);
    await store.insertUsage([
      row({ keyId: a, time: day1, costNanoUsd: 1 }),
      row({ keyId: a, time: day2, model: "openai:gpt-4o", costNanoUsd: 2_000_000_001 }),
      row({ keyId: b, time: day2, outcome: "error", inputTokens: 0, outputTokens: 0, costNanoUsd: 0 }),
    ]);
    const [ofA] = await store.queryUsage({ keyId: a });
    assert.deepEqual(ofA, {
      group: null,
      requests: 2,
      inputTokens: 20,
      outputTokens: 10,
      cachedInputTokens: 4,
      costNanoUsd: 2_000_000_002,
    });
    const byDay = await store.queryUsage({ keyId: a, groupBy: "day" });
    assert.deepEqual(
      byDay.map((total) => [total.group, total.requests]),
      [
        ["2026-11-30", 1],
        ["2026-12-01", 1],
      ],
    );
    const byModel = await store.queryUsage({ keyId: a, groupBy: "model" });
    assert.deepEqual(
      byModel.map((total) => total.group),
      ["echo", "openai:gpt-4o"],
    );
    const inRange = await store.queryUsage({ from: day2, to: day2 + 1, groupBy: "key" });
    assert.deepEqual(
      inRange.map((total) => [total.group, total.requests]).sort(),
      [
        [a, 1],
        [b, 1],
      ].sort(),
    );
    assert.equal(await store.spendSince(a, day2), 2_000_000_001);
    assert.equal(await store.spendSince(a, 0), 2_000_000_002);
    assert.deepEqual(await store.queryUsage({ keyId: "nobody" }), [
      { group: null, requests: 0, inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, costNanoUsd: 0 },
    ]);
    await store.insertUsage([]);
    await store.ping();
  });

  test(`${name}: a batch of the ledger's size, past any one statement's rows, is written whole`, async (t) => {
    const store = await open();
    t.after(() => store.close());
    const keyId = `key_batch_${randomUUID()}`;
    // 1,234 rows: several statements' worth, the last one partial.
    const rows = Array.from({ length: 1234 }, (_, index) =>
      row({ keyId, time: index + 1, costNanoUsd: index }),
    );
    await store.insertUsage(rows);
    const [total] = await store.queryUsage({ keyId });
    assert.equal(total.requests, 1234);
    assert.equal(total.costNanoUsd, (1233 * 1234) / 2);
    assert.equal(await store.spendSince(keyId, 1234), 1233, "the last row is there");
  });

  test(`${name}: a row the store refuses costs only itself: the rest of its batch is written, it is reported, later rows flow`, async (t) => {
    const store = await open();
    t.after(() => store.close());
    const keyId = `key_refused_${randomUUID()}`;
    // A NOT NULL column left empty: a value no store of ours can hold, whatever else it accepts.
    const refused = row({ keyId, model: null as unknown as string });
    await assert.rejects(store.insertUsage([refused]), (error: unknown) => store.rejectsRows(error));

    const dropped: number[] = [];
    const rejected: number[] = [];
    const outages: unknown[] = [];
    const ledger = new UsageLedger({
      store,
      maxBuffered: 100,
      flushIntervalMs: 60_000,
      onDropped: (count) => dropped.push(count),
      onWriteFailed: (error) => outages.push(error),
      onRejected: (error, count) => {
        assert.ok(store.rejectsRows(error), "the reason given is the store's refusal");
        rejected.push(count);
      },
    });
    for (let index = 0; index < 5; index += 1)
      ledger.record(index === 2 ? refused : row({ keyId, costNanoUsd: 1 }));
    await ledger.flush();
    assert.equal(ledger.buffered, 0, "the refused row does not stay to block the buffer");
    ledger.record(row({ keyId, costNanoUsd: 1 }));
    await ledger.flush();
    await ledger.close();
    const [total] = await store.queryUsage({ keyId });
    assert.equal(total.requests, 5, "the other four rows of the batch, then the later one");
    assert.deepEqual(rejected, [1]);
    assert.deepEqual(dropped, [1], "the refused row is counted with the dropped ones");
    assert.deepEqual(outages, [], "a refused row is not an outage");
  });
}
