import { describe, expect, it } from 'vitest';
import {
  CATCH_UP_BACKOFF,
  CATCH_UP_REASON,
  type CatchUpState,
  planCatchUp,
  refused,
  startCatchUp,
  taken,
  verdictOf,
} from '../agent/upgrade/catch-up.ts';
import { LEADER_GATE_SLACK, type MemberObservation } from '../agent/upgrade/rollout.ts';
import { compareVersions, notNewer } from '../shared/upgrade/version-order.ts';

// Issue 19: members launched on their install after a rollout completed (an EC2 or vsphere leader
// launches what the laptop installed) are taken to what the pool runs, one at a time, by the
// rollout's gate; members on another stored artifact or a newer install are left alone.
const T = 'a'.repeat(64);
const U = 'b'.repeat(64);
const GATE = 30_000;
const target = { sha256: T, version: '1.2.0', gateMs: GATE, startedAt: 1_000 };
const m = (peerId: string, status: Partial<NonNullable<MemberObservation['status']>> = {}, version = '1.1.0') =>
  ({
    peerId,
    instanceId: `i-${peerId}`,
    alive: true,
    version,
    status: { sha256: null, ready: true, last: null, held: [], trial: null, ...status },
  }) as MemberObservation;
const onT = (peerId: string) => m(peerId, { sha256: T, held: [T] }, '1.2.0');
const types = (events: { type: string }[]) => events.map((e) => e.type);

describe('version order', () => {
  it('follows semver precedence, pre-releases before their release, build metadata ignored', () => {
    expect(compareVersions('0.1.0', '0.1.1')).toBe(-1);
    expect(compareVersions('1.10.0', '1.9.9')).toBe(1);
    expect(compareVersions('0.1.0-rc.2', '0.1.0')).toBe(-1);
    expect(compareVersions('0.1.0-rc.10', '0.1.0-rc.9')).toBe(1);
    expect(compareVersions('0.1.0-1', '0.1.0-alpha')).toBe(-1);
    expect(compareVersions('0.1.0+a', '0.1.0+b')).toBe(0);
    expect(compareVersions('dev', '0.1.0')).toBeNull();
  });
  it('a member is behind when its version is not newer: the same, or before; no version is not comparable', () => {
    expect(notNewer('0.1.0', '0.1.0')).toBe(true);
    expect(notNewer('0.1.0', '0.1.1-catchup')).toBe(true);
    expect(notNewer('0.2.0', '0.1.1')).toBe(false);
    expect(notNewer('custom', 'custom')).toBe(true);
    expect(notNewer('custom', '0.1.1')).toBe(false);
  });
});

describe('catch-up of launched members (pure)', () => {
  it('tells members apart: on T, on their install, on another artifact, a newer install, under a gate', () => {
    expect(verdictOf(onT('A'), target)).toBe('target');
    expect(verdictOf(m('B'), target)).toBe('lagging');
    expect(verdictOf(m('C', { sha256: U }), target)).toBe('other-artifact');
    expect(verdictOf(m('D', {}, '1.3.0'), target)).toBe('newer-install');
    expect(verdictOf(m('E', { trial: U }), target)).toBe('under-gate');
    expect(verdictOf(m('F', { last: { sha256: T, ok: false, reason: 'x' } }), target)).toBe('rolled-back');
    expect(verdictOf(m('G', { returnedAt: 2_000 }), target)).toBe('returned');
    expect(verdictOf({ ...m('H'), status: undefined }, target)).toBe('unknown');
  });

  it('takes one member on its install, sources first, and leaves every other kind alone', () => {
    const seen = [onT('A'), m('C', { sha256: U }), m('D', {}, '1.3.0'), m('B'), m('Z')];
    const p = planCatchUp(startCatchUp(target), seen, 'L', 10_000);
    expect(p.step).toEqual({ kind: 'take', peerId: 'B', instanceId: 'i-B', holders: ['A', 'L'] });
    expect(p.events).toEqual([
      {
        type: 'upgrade-started',
        sha: T,
        version: '1.2.0',
        at: 10_000,
        members: 2,
        resumed: false,
        reason: CATCH_UP_REASON,
      },
    ]);
    // B restarting: Z waits, whatever the member list says, until B is back on T, ready, its gate over.
    let s = taken(p.state, { peerId: 'B', instanceId: 'i-B' }, 10_000).state;
    const down = [onT('A'), { ...m('B'), alive: false, leftAt: 10_500 }, m('Z')];
    expect(planCatchUp(s, down, 'L', 11_000).step).toEqual({ kind: 'wait' });
    const gateOpen = [onT('A'), { ...onT('B'), status: { ...onT('B').status, trial: T } } as MemberObservation, m('Z')];
    expect(planCatchUp(s, gateOpen, 'L', 20_000).step).toEqual({ kind: 'wait' });
    const back = planCatchUp(s, [onT('A'), onT('B'), m('Z')], 'L', 21_000);
    expect(back.step).toMatchObject({ kind: 'take', peerId: 'Z', holders: ['A', 'B', 'L'] });
    expect(types(back.events)).toEqual(['upgrade-progress']);
    s = taken(back.state, { peerId: 'Z', instanceId: 'i-Z' }, 21_000).state;
    const all = planCatchUp(s, [onT('A'), onT('B'), onT('Z')], 'L', 30_000);
    expect(all.step).toEqual({ kind: 'wait' });
    expect(all.events.at(-1)).toMatchObject({ type: 'upgrade-complete', members: 2 });
    // Nothing more to do: quiet.
    expect(planCatchUp(all.state, [onT('A'), onT('B'), onT('Z')], 'L', 31_000).events).toEqual([]);
  });

  it('takes nobody while another member is down, or not ready on its install', () => {
    const s = startCatchUp(target);
    expect(planCatchUp(s, [m('B'), { ...onT('A'), alive: false }], 'L', 5_000).step).toEqual({ kind: 'wait' });
    expect(planCatchUp(s, [m('B', { ready: false })], 'L', 5_000).step).toEqual({ kind: 'wait' });
  });

  it('halts on a member that went back from T, and stays halted', () => {
    let s: CatchUpState = taken(startCatchUp(target), { peerId: 'B', instanceId: 'i-B' }, 1_000).state;
    const rolledBack = m('B', {
      last: { sha256: T, ok: false, reason: 'the new agent exited (code 3) before it was ready' },
    });
    const p = planCatchUp(s, [rolledBack, m('Z')], 'L', 5_000);
    expect(p.state.halted).toMatchObject({
      peerId: 'B',
      reason: 'rolled back: the new agent exited (code 3) before it was ready',
    });
    expect(types(p.events)).toEqual(['upgrade-progress', 'upgrade-halted']);
    s = p.state;
    expect(planCatchUp(s, [m('B'), m('Z')], 'L', 10_000)).toMatchObject({ step: { kind: 'wait' }, events: [] });
    // Rolled back for a --rollback after the rollout began: the pool left T on purpose.
    const returned = planCatchUp(startCatchUp(target), [m('B', { returnedAt: 5_000 }), m('Z')], 'L', 6_000);
    expect(returned.state.halted?.reason).toMatch(/--rollback/);
  });

  it('halts on a member not back within the gate; one gone from the pool is a pause, growing', () => {
    const s = taken(startCatchUp(target), { peerId: 'B', instanceId: 'i-B' }, 0).state;
    const late = GATE + LEADER_GATE_SLACK + 1;
    expect(planCatchUp(s, [m('B'), m('Z')], 'L', late).state.halted?.peerId).toBe('B');
    const gone = planCatchUp(s, [m('Z')], 'L', late);
    expect(gone.state).toMatchObject({ current: null, failures: 1, retryAt: late + CATCH_UP_BACKOFF });
    expect(gone.step).toEqual({ kind: 'wait' });
    expect(planCatchUp(gone.state, [m('Z')], 'L', late + CATCH_UP_BACKOFF).step).toMatchObject({ peerId: 'Z' });
  });

  it('a refusal that says nothing of the artifact pauses; one that judges it halts', () => {
    const who = { peerId: 'B', instanceId: 'i-B' };
    const once = refused(startCatchUp(target), who, 'unreachable: timeout', false, 100).state;
    const twice = refused(once, who, 'unreachable: timeout', false, 200).state;
    expect([once.retryAt, twice.retryAt]).toEqual([100 + CATCH_UP_BACKOFF, 200 + 2 * CATCH_UP_BACKOFF]);
    expect(planCatchUp(twice, [m('B')], 'L', 201).step).toEqual({ kind: 'wait' });
    const halted = refused(startCatchUp(target), who, 'refused: not signed by the pool upgrade key', true, 100);
    expect(halted.state.halted?.reason).toMatch(/^refused/);
    expect(types(halted.events)).toEqual(['upgrade-progress', 'upgrade-halted']);
  });
});
