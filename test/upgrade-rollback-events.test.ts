import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { MemberRequest } from '../agent/upgrade/ask.ts';
import { RollbackRun } from '../agent/upgrade/rollback-leader.ts';
import { ROLLBACK_VERSION, rollbackId, signRollback } from '../shared/upgrade/rollback.ts';
import type { UpgradeEvent } from '../shared/wire/cluster.ts';

// `poolparty upgrade --rollback` tells its run on the event stream as a forward upgrade does:
// started, each member restarting and done (or skipped, or failed), halted or complete, all
// under the rollback's id, which the CLI computes from the request it signed.
const key = generateKeyPairSync('ed25519').privateKey;
const request = signRollback({ pool: 'p', issuedAt: 1_000 }, key);
const ID = rollbackId(request.request);

/** Members A (upgraded), B (never upgraded: nothing to return to), C; the leader L last. */
function setup(back: (peer: string) => boolean) {
  const events: UpgradeEvent[] = [];
  let t = 0;
  const now = () => t;
  const run = new RollbackRun({
    request,
    members: ['C', 'A', 'B'].map((p) => ({ peerId: p, instanceId: `i-${p}` })),
    self: { peerId: 'L', instanceId: 'i-L' },
    gateMs: 100,
    now: 0,
    emit: (e) => events.push(e),
  });
  const sha: Record<string, string | null> = { A: 'new', B: null, C: 'new' };
  const ask = async (peer: string, req: MemberRequest) => {
    if (req.type === 'status') return { ok: true, ready: true, sha256: sha[peer] ?? null };
    if (sha[peer] === null) return { ok: false, error: 'no previous artifact to return to' };
    if (back(peer)) sha[peer] = 'old';
    return { ok: true };
  };
  let selfRestarted = 0;
  const self = async () => {
    selfRestarted++;
  };
  const step = async () => {
    t += 10;
    await run.step(ask, self, now);
  };
  return { events, run, step, restarted: () => selfRestarted };
}

const brief = (e: UpgradeEvent) =>
  e.type === 'upgrade-progress'
    ? `${e.instanceId} ${e.phase}${e.error ? ` (${e.error})` : ''}`
    : e.type === 'upgrade-halted'
      ? `halted ${e.instanceId}: ${e.reason}`
      : `${e.type} ${e.members}`;

describe('rollback events', () => {
  it('a rollback that completes: each member returning, then the leader, under the request id', async () => {
    const { events, run, step, restarted } = setup(() => true);
    for (let i = 0; i < 10 && !run.finished; i++) await step();
    expect(restarted()).toBe(1);
    expect(events.map(brief)).toEqual([
      'upgrade-started 4',
      'i-A restarting',
      'i-A done',
      'i-B done (skipped: no previous artifact to return to)',
      'i-C restarting',
      'i-C done',
      'i-L restarting',
      'upgrade-complete 3',
    ]);
    expect(events.every((e) => e.sha === ID && e.version === ROLLBACK_VERSION)).toBe(true);
    expect(run.progress.id).toBe(ID);
    // Nothing is told twice.
    await step();
    expect(events).toHaveLength(8);
  });

  it('a member not back within the gate halts it, told once with where and why', async () => {
    const { events, run, step, restarted } = setup((peer) => peer !== 'A');
    for (let i = 0; i < 20 && !run.finished; i++) await step();
    expect(restarted()).toBe(0);
    expect(events.map(brief)).toEqual([
      'upgrade-started 4',
      'i-A restarting',
      'i-A failed (not back and ready within the gate)',
      'halted i-A: not back and ready within the gate',
    ]);
  });
});
