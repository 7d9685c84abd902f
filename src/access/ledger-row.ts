import type { UsageRow, UsageTotal } from "./usage-row.ts";

/** The columns a usage row is written to, in the order `ledgerValues` gives them. */
export const LEDGER_COLUMNS = [
  "time",
  "key_id",
  "model",
  "deployment",
  "input_tokens",
  "output_tokens",
  "cached_input_tokens",
  "cost_nano_usd",
  "duration_ms",
  "outcome",
  "request_id",
] as const;

export function ledgerValues(row: UsageRow): (string | number | null)[] {
  return [
    row.time,
    row.keyId,
    row.model,
    row.deployment,
    row.inputTokens,
    row.outputTokens,
    row.cachedInputTokens,
    row.costNanoUsd,
    // The column is an integer; a timer's fraction of a millisecond is not worth keeping.
    Math.round(row.durationMs),
    row.outcome,
    row.requestId,
  ];
}

/**
 * One group as the usage query selects it. PostgreSQL gives its sums (BIGINT) as strings and
 * SQLite as numbers, so every field is read through Number.
 */
export type LedgerTotalRow = Readonly<{
  grouped: unknown;
  requests: unknown;
  input_tokens: unknown;
  output_tokens: unknown;
  cached_input_tokens: unknown;
  cost_nano_usd: unknown;
}>;

export function usageTotalFromRow(row: LedgerTotalRow): UsageTotal {
  return {
    group: row.grouped === null || row.grouped === undefined ? null : String(row.grouped),
    requests: Number(row.requests),
    inputTokens: Number(row.input_tokens),
    outputTokens: Number(row.output_tokens),
    cachedInputTokens: Number(row.cached_input_tokens),
    costNanoUsd: Number(row.cost_nano_usd),
  };
}
