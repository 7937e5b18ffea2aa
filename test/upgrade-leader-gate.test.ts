import { describe, expect, it } from 'vitest';
import { UpgradeLeader } from '../agent/upgrade/leader.ts';
import type { UpgradeMember } from '../agent/upgrade/member.ts';
import { resumeRollout } from '../agent/upgrade/resume.ts';
import { type MemberObservation, planUpgrade, startRollout } from '../agent/upgrade/rollout.ts';
import type { ArtifactStore } from '../agent/upgrade/store.ts';
import type { SignedManifest } from '../shared/upgrade/manifest.ts';
import type { MemberUpgradeStatus, RolloutPlan } from '../shared/upgrade/protocol.ts';
import type { UpgradeEvent } from '../shared/wire/cluster.ts';

// Issue 19 (docs/upgrade.md, Limits): the leader restarts itself last, and counted itself done as
// soon as it ran the target, before its own health gate had passed; `upgrade-complete` could go
// out before its supervisor recorded the trial. It counts itself done once that record exists.
const SHA = 'c'.repeat(64);
const GATE = 60_000;
const plan: RolloutPlan = { sha256: SHA, version: '2', startedAt: 1_000, gateMs: GATE, maxUnavailable: 1 };
const me = { peerId: 'L', instanceId: 'i-L' };
const selfSeen = (trial: string | null): MemberObservation => ({
  ...me,
  alive: true,
  version: '2',
  status: { sha256: SHA, ready: true, last: trial ? null : { sha256: SHA, ok: true, at: 9_000 }, trial },
});

describe('the leader counts itself done once its own gate is over (pure)', () => {
  it('back on the target with its gate open, a leader that continues the rollout is not done yet', () => {
    // A pool of one: the leader restarted into the target and leads again within its gate.
    const found = resumeRollout(plan, { ...me, runsTarget: true, last: null, trial: SHA }, [], 5_000);
    const open = planUpgrade(found, [selfSeen(SHA)], 'L', 5_000);
    expect(open.rollout.completedAt).toBeUndefined();
    expect(open.rollout.members).toMatchObject([{ peerId: 'L', phase: 'restarting' }]);
    expect(open.step).toEqual({ kind: 'wait' });
    // Its supervisor recorded the trial: done, and the rollout complete.
    const over = planUpgrade(open.rollout, [selfSeen(null)], 'L', 9_500);
    expect(over.rollout.members).toMatchObject([{ peerId: 'L', phase: 'done' }]);
    expect(over.step).toEqual({ kind: 'done' });
    expect(over.rollout.completedAt).toBe(9_500);
  });

  it('its own open gate is never a timeout: its supervisor decides, and a failure ends this process', () => {
    const found = resumeRollout(plan, { ...me, runsTarget: true, trial: SHA }, [], 5_000);
    const late = planUpgrade(found, [selfSeen(SHA)], 'L', 5_000 + 10 * GATE);
    expect(late.rollout.halted).toBeUndefined();
    expect(late.step).toEqual({ kind: 'wait' });
  });

  it('a push handed to a leader on the target with its gate open waits for that gate too', () => {
    const r = startRollout(plan, { ...me, runsTarget: true, trial: SHA }, { gateMs: GATE, maxUnavailable: 1, now: 5 });
    expect(planUpgrade(r, [selfSeen(SHA)], 'L', 6).rollout.completedAt).toBeUndefined();
    expect(planUpgrade(r, [selfSeen(null)], 'L', 7).rollout.completedAt).toBe(7);
  });

  it('a member on the target and ready whose gate is still open is not done yet', () => {
    const r = resumeRollout(plan, { ...me, runsTarget: true }, [], 5_000);
    const b = (trial: string | null): MemberObservation => ({ ...selfSeen(trial), peerId: 'B', instanceId: 'i-B' });
    const withB = {
      ...r,
      members: [...r.members, { peerId: 'B', instanceId: 'i-B', phase: 'restarting' as const, restartAt: 4_000 }],
    };
    expect(planUpgrade(withB, [b(SHA)], 'L', 5_000).rollout.members[1]?.phase).toBe('restarting');
    expect(planUpgrade(withB, [b(null)], 'L', 5_000).rollout.members[1]?.phase).toBe('done');
    // An agent older than the field says nothing of its gate: counted as before.
    const old = { ...b(null), status: { sha256: SHA, ready: true, last: null } };
    expect(planUpgrade(withB, [old], 'L', 5_000).rollout.members[1]?.phase).toBe('done');
  });
});

describe('upgrade-complete from a leader that continues its own rollout', () => {
  it('goes out only after its supervisor recorded the trial', async () => {
    let self: MemberUpgradeStatus = { version: '2', sha256: SHA, held: [SHA], ready: true, last: null, trial: SHA };
    let now = 5_000;
    const events: UpgradeEvent[] = [];
    const store = {
      plan: async () => plan,
      writePlan: async () => undefined,
      signed: async () => ({ manifest: { sha256: SHA } }) as unknown as SignedManifest,
      read: async () => Buffer.from('artifact'),
      rollbackNotice: async () => null,
    } as unknown as ArtifactStore;
    const member = {
      status: async () => self,
      answer: async () => ({ ok: true }),
    } as unknown as UpgradeMember;
    const leader = new UpgradeLeader({
      node: null as never,
      member,
      store,
      selfPeerId: 'L',
      selfInstanceId: 'i-L',
      leading: () => true,
      members: () => [],
      now: () => now,
      log: () => undefined,
      emit: (e) => events.push(e),
    });
    await leader.tick();
    await leader.tick();
    expect(leader.rollout?.completedAt).toBeUndefined();
    expect(events.map((e) => e.type)).not.toContain('upgrade-complete');
    self = { ...self, trial: null, last: { sha256: SHA, ok: true, at: 5_400 } };
    now = 5_500;
    await leader.tick();
    expect(leader.rollout?.completedAt).toBe(5_500);
    expect(events.filter((e) => e.type === 'upgrade-complete')).toHaveLength(1);
  });
});
