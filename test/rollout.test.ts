import { describe, expect, it } from 'vitest';
import { type BundleMemberState, planRollout } from '../agent/bundle/rollout.ts';
import type { RolloutAnnouncement } from '../shared/wire/heartbeat.ts';

const SHA = 'a'.repeat(64);
const OLD = 'b'.repeat(64);
const start: RolloutAnnouncement = { sha: SHA, allowed: [], maxUnavailable: 1, startedAt: 0 };

describe('rolling update plan', () => {
  it('grants one member at a time, the leader last', () => {
    const members: BundleMemberState[] = [
      { peerId: 'L', bundle: OLD, bundleState: 'ok' },
      { peerId: 'b', bundle: OLD, bundleState: 'ok' },
      { peerId: 'a' },
    ];
    const p = planRollout(start, members, 'L');
    expect(p.announcement.allowed).toEqual(['a']);
    expect(p.pending).toEqual(['a', 'b', 'L']);
    expect(p.complete).toBe(false);
  });

  it('keeps granting the member in progress and waits for it', () => {
    const members: BundleMemberState[] = [
      { peerId: 'a', bundle: OLD, bundleTarget: SHA, bundleState: 'applying' },
      { peerId: 'b', bundle: OLD, bundleState: 'ok' },
    ];
    expect(planRollout(start, members, 'L').announcement.allowed).toEqual(['a']);
  });

  it('moves on as members finish, with maxUnavailable slots', () => {
    const members: BundleMemberState[] = [
      { peerId: 'a', bundle: SHA, bundleTarget: SHA, bundleState: 'ok' },
      { peerId: 'b', bundle: OLD, bundleTarget: SHA, bundleState: 'fetching' },
      { peerId: 'c', bundle: OLD, bundleState: 'ok' },
      { peerId: 'd', bundle: OLD, bundleState: 'ok' },
    ];
    const p = planRollout({ ...start, maxUnavailable: 2 }, members, 'L');
    expect(p.announcement.allowed).toEqual(['b', 'c']);
    expect(p.done).toEqual(['a']);
  });

  it('halts on a failure: no new grants, the reason announced', () => {
    const members: BundleMemberState[] = [
      { peerId: 'a', bundle: OLD, bundleTarget: SHA, bundleState: 'failed' },
      { peerId: 'b', bundle: OLD, bundleState: 'ok' },
    ];
    const p = planRollout(start, members, 'L');
    expect(p.announcement.allowed).toEqual([]);
    expect(p.announcement.halted).toMatch(/^a failed to apply a{12}/);
    // Once halted it stays halted even if the member later reports ok for another bundle.
    const again = planRollout(p.announcement, [{ peerId: 'b', bundle: OLD, bundleState: 'ok' }], 'L');
    expect(again.announcement.allowed).toEqual([]);
  });

  it('only plans for members of the bundle cloud', () => {
    const members: BundleMemberState[] = [
      { peerId: 'a', cloud: 'web' },
      { peerId: 'b', cloud: 'db' },
    ];
    const p = planRollout({ ...start, cloud: 'web', maxUnavailable: 5 }, members, 'L');
    expect(p.announcement.allowed).toEqual(['a']);
    expect(p.pending).toEqual(['a']);
  });

  it('is complete when everyone has it', () => {
    const members: BundleMemberState[] = [
      { peerId: 'a', bundle: SHA, bundleState: 'ok' },
      { peerId: 'L', bundle: SHA, bundleState: 'ok' },
    ];
    const p = planRollout(start, members, 'L');
    expect(p.complete).toBe(true);
    expect(p.announcement.allowed).toEqual([]);
  });
});
