import assert from "node:assert/strict";
import type { FakeLlmUpstream } from "./fake-llm-upstream.ts";
import { type Outcome, PROVIDER_MODELS, PROVIDERS, type ProviderLabel } from "./openai-surface-matrix.ts";

export type MatrixRowCheck = {
  feature: string;
  /** The row of the matrix: what each provider does with the feature. */
  row: Readonly<Record<ProviderLabel, Outcome>>;
  upstream: FakeLlmUpstream;
  /** Uses the feature through the client against one provider's model; throws what the client throws. */
  run(label: ProviderLabel, model: string): Promise<void>;
  /** Asserts that `error` is the client's form of a 400 naming `expected`. */
  assertRefused(error: unknown, expected: string, label: ProviderLabel): void;
};

/**
 * One feature on every provider, as the matrix says: it works, or the client gets the 400 that
 * names the field and nothing reaches the upstream. Each conformance suite brings its client's
 * calls and its client's way of showing the refusal.
 */
export async function checkMatrixRow(check: MatrixRowCheck): Promise<void> {
  for (const label of PROVIDERS) {
    check.upstream.script({});
    const expected = check.row[label];
    if (expected === true) {
      await check.run(label, PROVIDER_MODELS[label]);
      continue;
    }
    const before = check.upstream.requests.length;
    const error = await check.run(label, PROVIDER_MODELS[label]).then(
      () => assert.fail(`${label}: ${check.feature} should have been refused`),
      (caught: unknown) => caught,
    );
    check.assertRefused(error, expected, label);
    assert.equal(check.upstream.requests.length, before, `${label}: nothing reached the upstream`);
  }
}
