/**
 * Whether a member's refusal to stage an artifact halts the rollout, or is asked again.
 *
 * A refusal that judges the artifact or names the key (`refused: …`: unsigned, another key, other
 * bytes; or no upgrade key at all) will be given again however often it is asked: asking again
 * would block the rollout for ever, so it halts, and /upgrade and the event stream say where and
 * why. A refusal that says nothing of either (`retry`: the member follows another leader, or is
 * restarting already; the member was not reached) and a fetch from peers that failed are asked
 * again next tick.
 */
export function stageRefusalHalts(answer: Record<string, unknown>): boolean {
  if (answer.retry === true) return false;
  const error = String(answer.error);
  // Agents before 19's fixes answered the missing key without the `refused:` prefix.
  return error.startsWith('refused') || /has no upgrade key/.test(error);
}
