/** Progress as stored: a whole percentage from 0 to 100, whatever a processor reported. */
export function clampProgress(percent: number): number {
  if (!Number.isFinite(percent)) return 0;
  return Math.min(100, Math.max(0, Math.round(percent)));
}
