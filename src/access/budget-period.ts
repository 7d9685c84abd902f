import type { BudgetPeriod } from "./virtual-key.ts";

export type PeriodWindow = Readonly<{
  /** Names the counter: `2026-12-01`, `2026-12` or `total`. */
  name: string;
  /** Milliseconds since the epoch (UTC) when the period began, and when it turns. */
  start: number;
  end: number;
}>;

/** The budget period holding `now`, in UTC: a day, a calendar month, or all time. */
export function periodWindow(period: BudgetPeriod, now: number): PeriodWindow {
  const date = new Date(now);
  if (period === "day") {
    const start = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
    return { name: new Date(start).toISOString().slice(0, 10), start, end: start + 86_400_000 };
  }
  if (period === "month") {
    const start = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
    const end = Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
    return { name: new Date(start).toISOString().slice(0, 7), start, end };
  }
  return { name: "total", start: 0, end: Number.POSITIVE_INFINITY };
}
