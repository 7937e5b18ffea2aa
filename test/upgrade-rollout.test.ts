import { describe, expect, it } from 'vitest';
import { judgeTrial } from '../agent/upgrade/gate.ts';
import {
  LEADER_GATE_SLACK,
  MAX_HOLDERS,
  type MemberObservation,
  markMember,
  planUpgrade,
  type UpgradeRollout,
} from '../agent/upgrade/rollout.ts';

const SHA = 'a'.repeat(64);
const LEADER = 'L';
const start = (): UpgradeRollout => ({
  sha256: SHA,
  version: '2',
  startedAt: 0,
  gateMs: 10_000,
  maxUnavailable: 1,
  members: [{ peerId: LEADER, instanceId: 'i-L', phase: 'staged' }],
});
const member = (peerId: string, o: Partial<MemberObservation> = {}): MemberObservation => ({
  peerId,
  instanceId: `i-${peerId}`,
  alive: true,
  version: '1',
  ...o,
});
const upgraded = (peerId: string) =>
  member(peerId, { version: '2', status: { sha256: SHA, ready: true, last: { sha256: SHA, ok: true } } });

describe('upgrade rollout plan (pure)', () => {
  it('stages every member first, then restarts them one at a time in order, the leader last', () => {
    let r = start();
    const seen = [member('B'), member('A'), member('C')];
    let p = planUpgrade(r, seen, LEADER, 0);
    expect(p.step).toEqual({ kind: 'stage', peers: ['B', 'A', 'C'], holders: [LEADER] });
    r = p.rollout;
    for (const id of ['A', 'B', 'C']) r = markMember(r, id, 'staged', 1);
    p = planUpgrade(r, seen, LEADER, 2);
    expect(p.step).toEqual({ kind: 'activate', peers: ['A'] });
    r = markMember(p.rollout, 'A', 'restarting', 2);
    // A is down while it restarts: nobody else goes.
    expect(planUpgrade(r, [member('A', { alive: false }), member('B'), member('C')], LEADER, 3).step).toEqual({
      kind: 'wait',
    });
    p = planUpgrade(r, [upgraded('A'), member('B'), member('C')], LEADER, 4);
    expect(p.rollout.members.find((m) => m.peerId === 'A')?.phase).toBe('done');
    expect(p.step).toEqual({ kind: 'activate', peers: ['B'] });
    r = markMember(p.rollout, 'B', 'restarting', 4);
    r = planUpgrade(r, [upgraded('A'), upgraded('B'), member('C')], LEADER, 5).rollout;
    r = markMember(r, 'C', 'restarting', 5);
    p = planUpgrade(r, [upgraded('A'), upgraded('B'), upgraded('C')], LEADER, 6);
    expect(p.step).toEqual({ kind: 'activate-self' });
    // Told once: while it stops, the leader's next ticks must not activate it a second time.
    r = markMember(p.rollout, LEADER, 'restarting', 6);
    expect(planUpgrade(r, [upgraded('A'), upgraded('B'), upgraded('C')], LEADER, 7).step).toEqual({ kind: 'wait' });
  });

  it('holds while another member is down, so the pool never loses more than maxUnavailable', () => {
    let r = start();
    for (const id of ['A', 'B'])
      r = markMember(
        { ...r, members: [...r.members, { peerId: id, instanceId: id, phase: 'staged' }] },
        id,
        'staged',
        0,
      );
    expect(planUpgrade(r, [member('A'), member('B', { alive: false })], LEADER, 1).step).toEqual({ kind: 'wait' });
    expect(
      planUpgrade({ ...r, maxUnavailable: 2 }, [member('A'), member('B', { alive: false })], LEADER, 1).step,
    ).toEqual({
      kind: 'activate',
      peers: ['A'],
    });
  });

  it('restarts nobody while a member has not staged: whoever leads next must hold the plan to continue it', () => {
    // B refused the first stage request (it did not follow this leader yet): it is asked again
    // before A goes down, and A goes once B holds the artifact and the plan.
    let r = start();
    const seen = [member('A'), member('B')];
    r = markMember(planUpgrade(r, seen, LEADER, 0).rollout, 'A', 'staged', 1);
    let p = planUpgrade(r, seen, LEADER, 2);
    expect(p.step).toEqual({ kind: 'stage', peers: ['B'], holders: ['A', LEADER] });
    p = planUpgrade(markMember(p.rollout, 'B', 'staged', 3), seen, LEADER, 4);
    expect(p.step).toEqual({ kind: 'activate', peers: ['A'] });
    // One joining while A restarts is staged once A is back, before B goes.
    r = markMember(p.rollout, 'A', 'restarting', 4);
    const joined = [member('A', { alive: false }), member('B'), member('C')];
    expect(planUpgrade(r, joined, LEADER, 5).step).toEqual({ kind: 'wait' });
    p = planUpgrade(r, [upgraded('A'), member('B'), member('C')], LEADER, 6);
    expect(p.step).toEqual({ kind: 'stage', peers: ['C'], holders: ['A', 'B', LEADER] });
  });

  it('halts pool-wide when a restarted member rolled back, naming it and why', () => {
    let r = start();
    r = {
      ...r,
      members: [
        ...r.members,
        { peerId: 'A', instanceId: 'i-A', phase: 'staged' },
        { peerId: 'B', instanceId: 'i-B', phase: 'staged' },
      ],
    };
    r = markMember(r, 'A', 'restarting', 0);
    const back = member('A', {
      status: { sha256: null, ready: true, last: { sha256: SHA, ok: false, reason: 'exited (code 3)' } },
    });
    const p = planUpgrade(r, [back, member('B')], LEADER, 1);
    expect(p.rollout.halted).toMatchObject({ peerId: 'A', instanceId: 'i-A', reason: 'rolled back: exited (code 3)' });
    expect(p.step).toEqual({ kind: 'wait' });
    // Halted stays halted: B is never granted.
    expect(planUpgrade(p.rollout, [member('A'), member('B')], LEADER, 2).step).toEqual({ kind: 'wait' });
  });

  it('halts when a restarted member is not back on the target within the gate and the slack', () => {
    let r = start();
    r = { ...r, members: [...r.members, { peerId: 'A', instanceId: 'i-A', phase: 'staged' }] };
    r = markMember(r, 'A', 'restarting', 0);
    expect(
      planUpgrade(r, [member('A', { alive: false })], LEADER, r.gateMs + LEADER_GATE_SLACK).rollout.halted,
    ).toBeUndefined();
    expect(
      planUpgrade(r, [member('A', { alive: false })], LEADER, r.gateMs + LEADER_GATE_SLACK + 1).rollout.halted,
    ).toMatchObject({
      peerId: 'A',
    });
  });

  it('names at most MAX_HOLDERS sources in a stage request, the leader last, however large the pool', () => {
    const ids = Array.from({ length: 40 }, (_, i) => `P${String(i).padStart(2, '0')}`);
    const done = ids.map((peerId) => ({ peerId, instanceId: peerId, phase: 'done' as const }));
    const r: UpgradeRollout = {
      ...start(),
      members: [...start().members, ...done, { peerId: 'Z', instanceId: 'Z', phase: 'pending' }],
    };
    const p = planUpgrade(r, [...ids.map(upgraded), member('Z')], LEADER, 1);
    expect(p.step).toMatchObject({ kind: 'stage', peers: ['Z'] });
    if (p.step.kind === 'stage') {
      expect(p.step.holders).toHaveLength(MAX_HOLDERS);
      expect(p.step.holders.at(-1)).toBe(LEADER);
    }
  });

  it('a member refusing the artifact halts it like a failed gate', () => {
    const r = markMember(
      { ...start(), members: [...start().members, { peerId: 'A', instanceId: 'i-A', phase: 'pending' }] },
      'A',
      'failed',
      5,
      'refused: bad',
    );
    expect(r.halted).toEqual({ peerId: 'A', instanceId: 'i-A', reason: 'refused: bad', at: 5 });
  });
});

describe('restart health gate (pure)', () => {
  const trial = { sha256: SHA, previous: '/old', startedAt: 0, gateMs: 1000 };
  it('passes once the new agent confirmed itself ready', () => {
    expect(judgeTrial({ ...trial, confirmedAt: 10 }, { spawnedAt: 0, now: 5000, exited: null })).toEqual({
      done: true,
      ok: true,
    });
  });
  it('fails when the new agent exits first, or when its time is up; waits otherwise', () => {
    expect(judgeTrial(trial, { spawnedAt: 0, now: 10, exited: { code: 3, signal: null } })).toEqual({
      done: true,
      ok: false,
      reason: 'the new agent exited (code 3) before it was ready',
    });
    expect(judgeTrial(trial, { spawnedAt: 500, now: 1499, exited: null })).toEqual({ done: false });
    expect(judgeTrial(trial, { spawnedAt: 500, now: 1500, exited: null })).toMatchObject({ done: true, ok: false });
  });
});
