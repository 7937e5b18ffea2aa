/**
 * A signed push is good for a while, not forever: the pool key lets any member talk to the leader,
 * so without a bound a member holding an old, validly signed manifest could replay it later and
 * roll the pool back to a version the operator has since replaced (a downgrade). The CLI signs
 * each push when it sends it (issuedAt = now), so a real push is seconds old when it arrives.
 */

/** A push signed longer ago than this is refused (ms). One hour: a slow laptop link, never a day. */
export const MAX_PUSH_AGE = 60 * 60_000;
/** How far ahead of this agent's clock a push may be dated (ms): clocks of laptop and node differ a little. */
export const MAX_PUSH_AHEAD = 5 * 60_000;

/** Why a push signed at `issuedAt` is refused at `now`, or null when it is fresh enough. */
export function pushAgeProblem(issuedAt: number, now: number): string | null {
  if (now - issuedAt > MAX_PUSH_AGE)
    return `signed ${Math.round((now - issuedAt) / 60_000)} min ago (a push is good for ${MAX_PUSH_AGE / 60_000} min: sign it again with poolparty upgrade)`;
  if (issuedAt - now > MAX_PUSH_AHEAD)
    return `dated ${Math.round((issuedAt - now) / 60_000)} min ahead of this agent's clock`;
  return null;
}
