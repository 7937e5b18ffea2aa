/**
 * Which terms a node believes (pure). A term arrives in every record (`term`, `leads`) and in
 * control messages; any holder of the pool key can write any number there. Unbounded, one claim
 * of `term + 5` made a whole pool follow its sender, and one of 2^53−1 pushed the pool's term
 * past the wire's safe-integer limit (every record after it was rejected).
 *
 * A term is accepted only up to `anchor + maxTermStep` and never above MAX_TERM; anything
 * beyond is ignored (the shell counts and logs it). The anchor is the larger of this node's own
 * highest accepted term and the lower median of the alive members' terms (self included once it
 * has one): a node back from a long partition catches up with the pool, while one member alone —
 * whatever it sends — can move neither (except for a fresh node whose only peer it is).
 */

/**
 * How far above the anchor a term may be and still be believed. 16: a healed partition may be a
 * few terms ahead (each failover on the other side adds one), far more than that is a bug or a
 * hostile peer. A peer can still raise the pool's term by at most this much per message, so the
 * safe-integer limit stays out of reach (2^53 / 16 messages).
 */
export const MAX_TERM_STEP = 16;

/** The highest term ever accepted: a claim one above it is still a safe integer. */
export const MAX_TERM = Number.MAX_SAFE_INTEGER - 1;

/** The lower median of `values` (0 when empty): with a majority of honest values, an honest one. */
export function lowerMedian(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] as number;
}

/** A term is a safe integer ≥ 0 and ≤ MAX_TERM. */
function saneTerm(t: number): boolean {
  return Number.isSafeInteger(t) && t >= 0 && t <= MAX_TERM;
}

/**
 * The highest term this node accepts now: `own` is its highest accepted term, `others` the terms
 * the other alive members report as theirs. Our own term takes part in the median once we have
 * one: a fresh node (own 0) of a two-member pool must still accept the pool's term.
 */
export function termLimit(own: number, others: readonly number[], maxTermStep = MAX_TERM_STEP): number {
  const reported = others.filter(saneTerm);
  const anchor = Math.max(own, lowerMedian(own > 0 ? [own, ...reported] : reported));
  return Math.min(MAX_TERM, anchor + maxTermStep);
}

/** Whether `term` may be believed under `limit`. */
export function acceptsTerm(term: number, limit: number): boolean {
  return saneTerm(term) && term <= limit;
}
