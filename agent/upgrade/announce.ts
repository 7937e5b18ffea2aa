import type { UpgradeRequest } from '../../shared/upgrade/protocol.ts';

type Ask = (peer: string, req: UpgradeRequest, timeout: number) => Promise<{ ok: boolean }>;

/**
 * After `upgrade-complete` went out: every member (this node too, `ask` answers for it) notes in
 * its plan that the rollout was announced. Leadership can move within the gate after the
 * announcement (the leader restarts last, its successor announces, and may lose leadership in
 * turn); a member that takes over later finds the note and does not announce it a second time.
 * Best effort, in parallel: a member not reached may announce again, as before this note.
 */
export async function noteAnnounced(sha256: string, peers: string[], ask: Ask): Promise<void> {
  await Promise.all(peers.map((peer) => ask(peer, { type: 'announced', sha256 }, 5_000).catch(() => undefined)));
}
