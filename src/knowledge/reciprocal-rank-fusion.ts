import type { SearchHit } from "./knowledge-store.ts";

/**
 * The constant of reciprocal rank fusion (Cormack, Clarke and Büttcher, 2009): with 60, a chunk
 * ranked well by one list and not at all by the other still places, and no single list's top
 * result dominates.
 */
export const RRF_K = 60;

/**
 * Rankings merged by reciprocal rank fusion: each chunk scores the sum of 1 / (RRF_K + rank) over
 * the lists that hold it (rank from 1), so only the ranks count, never the lists' incomparable
 * scores. A chunk in several lists keeps the first list's snippet (full-text marks its words).
 * Ties keep a stable order: document, then chunk.
 */
export function reciprocalRankFusion(
  rankings: readonly (readonly SearchHit[])[],
  limit: number,
): SearchHit[] {
  const fused = new Map<string, { hit: SearchHit; score: number }>();
  for (const ranking of rankings) {
    for (const [index, hit] of ranking.entries()) {
      const key = `${hit.documentId}\u0000${hit.chunkIndex}`;
      const contribution = 1 / (RRF_K + index + 1);
      const entry = fused.get(key);
      if (entry === undefined) fused.set(key, { hit, score: contribution });
      else entry.score += contribution;
    }
  }
  return [...fused.values()]
    .sort(
      (a, b) =>
        b.score - a.score ||
        a.hit.documentId.localeCompare(b.hit.documentId) ||
        a.hit.chunkIndex - b.hit.chunkIndex,
    )
    .slice(0, limit)
    .map(({ hit, score }) => ({ ...hit, score }));
}
