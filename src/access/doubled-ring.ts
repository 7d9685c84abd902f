/**
 * A ring addressed by sequence numbers (slot = sequence & (length - 1), the length a power of two)
 * copied into one twice as long, each slot from `head` up to `tail` moved to its sequence number's
 * place there. `TimeQueue` and `TokenWindow` grow their rings with it.
 */
export function doubledRing(
  ring: Float64Array<ArrayBuffer>,
  head: number,
  tail: number,
): Float64Array<ArrayBuffer> {
  const doubled = new Float64Array(ring.length * 2);
  const fromMask = ring.length - 1;
  const toMask = doubled.length - 1;
  for (let sequence = head; sequence < tail; sequence += 1) {
    doubled[sequence & toMask] = ring[sequence & fromMask];
  }
  return doubled;
}
