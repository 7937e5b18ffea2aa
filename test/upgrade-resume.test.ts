import { describe, expect, it } from 'vitest';
import { rolloutEvents } from '../agent/upgrade/events.ts';
import { completedAtTakeover, RESUME_WITHIN, resumable, resumeRollout } from '../agent/upgrade/resume.ts';
import {
  LEADER_GATE_SLACK,
  type MemberObservation,
  markMember,
  planUpgrade,
  type UpgradeRollout,
} from '../agent/upgrade/rollout.ts';
import type { RolloutPlan } from '../shared/upgrade/protocol.ts';

// A leader that took over mid-rollout (the one before died or left) continues from the plan it
// staged for and from what the members say: never from scratch, never two members down at once.
const SHA = 'b'.repeat(64);
const plan: RolloutPlan = { sha256: SHA, version: '2', startedAt: 1_000, gateMs: 10_000, maxUnavailable: 1 };
const NEW = 'N';
const obs = (peerId: string, o: Partial<MemberObservation> = {}): MemberObservation => ({
  peerId,
  instanceId: `i-${peerId}`,
  alive: true,
  version: '1',
  status: { sha256: null, ready: true, last: null, held: [SHA] },
  ...o,
});
const onTarget = (peerId: string) =>
  obs(peerId, { version: '2', status: { sha256: SHA, ready: true, last: { sha256: SHA, ok: true }, held: [SHA] } });
const phases = (r: UpgradeRollout) => Object.fromEntries(r.members.map((m) => [m.peerId, m.phase]));

describe('a new leader continues an upgrade rollout (pure)', () => {
  it('keeps what is done and staged, and restarts the next member, not the ones already upgraded', () => {
    // A was upgraded in the first batch and now leads (N); B and C hold the artifact; D never staged.
    const seen = [obs('B'), obs('C'), obs('D', { status: { sha256: null, ready: true, last: null, held: [] } })];
    const r = resumeRollout(plan, { peerId: NEW, instanceId: 'i-N', runsTarget: true }, seen, 5_000);
    expect(phases(r)).toEqual({ N: 'done', B: 'staged', C: 'staged', D: 'pending' });
    expect(r).toMatchObject({ sha256: SHA, gateMs: 10_000, maxUnavailable: 1, startedAt: 1_000 });
    // D stages before anyone goes down (should this leader be lost too, D must hold the plan).
    const first = planUpgrade(r, seen, NEW, 5_000);
    expect(first.step).toMatchObject({ kind: 'stage', peers: ['D'] });
    expect(planUpgrade(markMember(first.rollout, 'D', 'staged', 5_100), seen, NEW, 5_200).step).toEqual({
      kind: 'activate',
      peers: ['B'],
    });
  });

  it("a member that left recently may be restarting on the old leader's order: nobody else goes until it is back", () => {
    const seen = [obs('B', { alive: false, leftAt: 4_000 }), obs('C')];
    const r = resumeRollout(plan, { peerId: NEW, instanceId: 'i-N', runsTarget: true }, seen, 5_000);
    expect(phases(r)).toMatchObject({ B: 'restarting', C: 'staged' });
    expect(planUpgrade(r, seen, NEW, 5_000).step).toEqual({ kind: 'wait' });
    // Back on the target and ready: done, and the next one goes.
    const back = planUpgrade(r, [onTarget('B'), obs('C')], NEW, 9_000);
    expect(phases(back.rollout)).toMatchObject({ B: 'done' });
    expect(back.step).toEqual({ kind: 'activate', peers: ['C'] });
    // Never back within the gate: it left for good (no rollback said otherwise); the rollout goes on.
    const late = 4_000 + plan.gateMs + LEADER_GATE_SLACK + 1;
    const gone = planUpgrade(r, [obs('C')], NEW, late);
    expect(gone.rollout.halted).toBeUndefined();
    expect(gone.step).toEqual({ kind: 'activate', peers: ['C'] });
  });

  it('one running the target but not yet ready is restarting, not restarted again', () => {
    const seen = [obs('B', { version: '2', status: { sha256: SHA, ready: false, last: null, held: [SHA] } }), obs('C')];
    const r = resumeRollout(plan, { peerId: NEW, instanceId: 'i-N', runsTarget: true }, seen, 5_000);
    expect(phases(r)).toMatchObject({ B: 'restarting' });
    expect(planUpgrade(r, seen, NEW, 5_000).step).toEqual({ kind: 'wait' });
  });

  it('a member that rolled back from the target halts it again, naming it', () => {
    const seen = [
      obs('B', { status: { sha256: null, ready: true, last: { sha256: SHA, ok: false, reason: 'exited (code 3)' } } }),
      obs('C'),
    ];
    const r = resumeRollout(plan, { peerId: NEW, instanceId: 'i-N', runsTarget: false }, seen, 5_000);
    expect(r.halted).toMatchObject({ peerId: 'B', reason: 'rolled back: exited (code 3)' });
    expect(planUpgrade(r, seen, NEW, 5_000).step).toEqual({ kind: 'wait' });
  });

  it('a suspect member counts as down; a dead one (no longer listed) is not waited for', () => {
    const seen = [obs('B', { alive: false }), obs('C')];
    const r = resumeRollout(plan, { peerId: NEW, instanceId: 'i-N', runsTarget: true }, seen, 5_000);
    expect(planUpgrade(r, seen, NEW, 5_000).step).toEqual({ kind: 'wait' });
    expect(planUpgrade(r, [obs('C')], NEW, 6_000).step).toEqual({ kind: 'activate', peers: ['C'] });
  });

  it('the new leader goes last, and a rollout found complete is complete', () => {
    const r = resumeRollout(plan, { peerId: NEW, instanceId: 'i-N', runsTarget: false }, [onTarget('B')], 5_000);
    expect(planUpgrade(r, [onTarget('B')], NEW, 5_000).step).toEqual({ kind: 'activate-self' });
    const all = resumeRollout(plan, { peerId: NEW, instanceId: 'i-N', runsTarget: true }, [onTarget('B')], 5_000);
    expect(planUpgrade(all, [onTarget('B')], NEW, 5_000).step).toEqual({ kind: 'done' });
  });

  it('a rollout found complete is announced when its last member came back around the takeover', () => {
    // The leader before restarted itself last and is back (confirmed at 4_500): nobody said so yet.
    const back = (peerId: string, at: number) =>
      obs(peerId, {
        version: '2',
        status: { sha256: SHA, ready: true, last: { sha256: SHA, ok: true, at }, held: [SHA] },
      });
    const seen = [back('B', 2_000), back('OLD', 4_500)];
    const r = resumeRollout(plan, { peerId: NEW, instanceId: 'i-N', runsTarget: true }, seen, 5_000);
    expect(planUpgrade(r, seen, NEW, 5_000).step).toEqual({ kind: 'done' });
    const outcomes = [{ sha256: SHA, ok: true, at: 1_500 }, ...seen.map((o) => o.status?.last ?? null)];
    expect(completedAtTakeover(plan, outcomes, 5_000)).toBe(true);
    // Back longer than a gate ago: the leader of that time saw it complete and said so.
    const later = 4_500 + plan.gateMs + LEADER_GATE_SLACK + 1;
    expect(completedAtTakeover(plan, outcomes, later)).toBe(false);
    // Only confirmations of this target count: a rollback from it, or another artifact, does not.
    const others = [
      { sha256: SHA, ok: false, reason: 'exited', at: 4_900 },
      { sha256: 'c'.repeat(64), ok: true, at: 4_900 },
      null,
    ];
    expect(completedAtTakeover(plan, others, 5_000)).toBe(false);
  });

  it('continues a plan for as long as a push is good, not later', () => {
    expect(resumable(plan, plan.startedAt + RESUME_WITHIN)).toBe(true);
    expect(resumable(plan, plan.startedAt + RESUME_WITHIN + 1)).toBe(false);
  });
});

describe('upgrade rollout events (pure)', () => {
  it('tells each member whose phase moved, then a halt or the completion once', () => {
    const start: UpgradeRollout = {
      sha256: SHA,
      version: '2',
      startedAt: 0,
      gateMs: 1_000,
      maxUnavailable: 1,
      members: [
        { peerId: 'L', instanceId: 'i-L', phase: 'staged' },
        { peerId: 'A', instanceId: 'i-A', phase: 'staged' },
      ],
    };
    const restarting = markMember(start, 'A', 'restarting', 5);
    expect(rolloutEvents(start, restarting, 5)).toEqual([
      { type: 'upgrade-progress', sha: SHA, version: '2', at: 5, peerId: 'A', instanceId: 'i-A', phase: 'restarting' },
    ]);
    expect(rolloutEvents(restarting, restarting, 6)).toEqual([]);
    const failed = markMember(restarting, 'A', 'failed', 7, 'rolled back: exited (code 3)');
    expect(rolloutEvents(restarting, failed, 7).map((e) => e.type)).toEqual(['upgrade-progress', 'upgrade-halted']);
    expect(rolloutEvents(restarting, failed, 7)[1]).toMatchObject({
      instanceId: 'i-A',
      reason: 'rolled back: exited (code 3)',
    });
    expect(rolloutEvents(failed, failed, 8)).toEqual([]);
    const complete = { ...start, completedAt: 9 };
    expect(rolloutEvents(start, complete, 9)).toEqual([
      { type: 'upgrade-complete', sha: SHA, version: '2', at: 9, members: 2 },
    ]);
  });
});
