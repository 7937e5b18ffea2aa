import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MemberRequest } from '../agent/upgrade/ask.ts';
import { rolloutEvents } from '../agent/upgrade/events.ts';
import { type MemberOptions, UpgradeMember } from '../agent/upgrade/member.ts';
import { completedAtTakeover, RESUME_WITHIN, resumable, resumeRollout } from '../agent/upgrade/resume.ts';
import { RollbackResumer } from '../agent/upgrade/rollback-resume.ts';
import {
  LEADER_GATE_SLACK,
  type MemberObservation,
  markMember,
  planUpgrade,
  type UpgradeRollout,
} from '../agent/upgrade/rollout.ts';
import { ArtifactStore } from '../agent/upgrade/store.ts';
import type { RolloutPlan } from '../shared/upgrade/protocol.ts';
import { rollbackId, signRollback } from '../shared/upgrade/rollback.ts';
import type { UpgradeEvent } from '../shared/wire/cluster.ts';

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
  it('a leader whose own restart into the target was rolled back halts at itself, not restarting again', () => {
    // A pool of one (a single ssh host under systemd): the leader restarts last, its supervisor
    // returns it, and it leads again; restarting into the same artifact would loop for an hour.
    const last = { sha256: SHA, ok: false, reason: 'the new agent exited (code 3) before it was ready', at: 4_000 };
    const r = resumeRollout(plan, { peerId: NEW, instanceId: 'i-N', runsTarget: false, last }, [], 5_000);
    expect(phases(r)).toEqual({ N: 'failed' });
    expect(r.halted).toMatchObject({ instanceId: 'i-N', reason: `rolled back: ${last.reason}` });
    expect(planUpgrade(r, [], NEW, 5_000).step.kind).not.toBe('activate-self');
  });

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

describe('a new leader continues a --rollback run', () => {
  const keys = generateKeyPairSync('ed25519');
  const publicKey = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const signed = (issuedAt: number) => signRollback({ pool: 'p', issuedAt }, keys.privateKey);

  it('a member returns once per run, whoever asks, and keeps the run when told of it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pp-rollback-once-'));
    try {
      const store = new ArtifactStore(dir);
      await mkdir(store.dir, { recursive: true });
      await symlink('/new.mjs', store.currentLink);
      await symlink('/old.mjs', store.previousLink);
      const member = new UpgradeMember({
        ...({ node: null, running: { file: '/new.mjs', sha256: null, version: '2' } } as never as MemberOptions),
        store,
        pool: 'p',
        publicKey,
        leader: () => 'L',
        selfPeerId: 'M',
        ready: () => true,
        maxBytes: 1,
        gateMs: 5_000,
        now: () => 7,
        restart: () => undefined,
        log: () => undefined,
      });
      const request = signed(Date.now());
      const id = rollbackId(request.request);
      expect(await member.answer({ type: 'rollback-hold', request, gateMs: 9_000 }, 'L')).toEqual({
        ok: true,
        held: id,
      });
      expect(await store.current()).toBe('/new.mjs');
      expect(await member.answer({ type: 'rollback', request }, 'L')).toMatchObject({ ok: true, restart: true });
      expect(await store.current()).toBe('/old.mjs');
      // Asked again by the leader that took over (here one of session 11: its hold rides inside a
      // `rollback` request): it stays where it is (a second swap would re-upgrade it).
      expect(await member.answer({ type: 'rollback', request: { hold: request, gateMs: 9_000 } }, 'L')).toMatchObject({
        ok: true,
      });
      expect(await member.answer({ type: 'rollback', request }, 'L')).toEqual({ ok: true, already: true });
      expect(await store.current()).toBe('/old.mjs');
      expect((await member.status()).rollback).toEqual({ id, returnedAt: 7 });
      expect(await store.rollbackNotice()).toMatchObject({ id, gateMs: 9_000, returnedAt: 7 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  /** A leader taking over: A returned, B did not yet, R restarts (left 1 s ago); this node (N) last. */
  async function takeOver(issuedAt: number, selfReturned = false, returned = ['A'], restarting = true) {
    const request = signed(issuedAt);
    const id = rollbackId(request.request);
    const events: UpgradeEvent[] = [];
    const back = new Set(returned);
    const ask = async (peer: string, req: MemberRequest) => {
      if (req.type === 'status')
        return { ok: true, ready: true, sha256: null, rollback: back.has(peer) ? { id, returnedAt: 1 } : null };
      if (req.type === 'rollback')
        if (back.has(peer)) return { ok: true, already: true };
        else back.add(peer);
      return { ok: true };
    };
    const notice = { signed: request, id, gateMs: 10_000, ...(selfReturned ? { returnedAt: 1 } : {}) };
    const resumer = new RollbackResumer({
      store: { rollbackNotice: async () => notice } as unknown as ArtifactStore,
      pool: 'p',
      publicKey,
      self: { peerId: 'N', instanceId: 'i-N' },
      members: () => [
        { peerId: 'A', instanceId: 'i-A', alive: true },
        { peerId: 'B', instanceId: 'i-B', alive: true },
        ...(restarting ? [{ peerId: 'R', instanceId: 'i-R', alive: false, leftAt: Date.now() - 1_000 }] : []),
        { peerId: 'D', instanceId: 'i-D', alive: false },
      ],
      ask,
      now: () => Date.now(),
      log: () => undefined,
      emit: (e) => events.push(e),
    });
    return { run: await resumer.resume(), again: () => resumer.resume(), ask, back, events, id };
  }

  it('continues where the members are: the returned one is done, the restarting one awaited, this node last', async () => {
    const { run, again, ask, back, events, id } = await takeOver(Date.now());
    expect(run?.progress).toMatchObject({ id, done: ['A'], queue: ['B'], current: { peerId: 'R' } });
    expect(events).toMatchObject([{ type: 'upgrade-started', sha: id, resumed: true }]);
    expect(await again()).toBeNull(); // one look per run
    let selfAsked = 0;
    back.add('R'); // back from its restart
    for (let i = 0; i < 8 && !run?.finished; i++)
      await run?.step(
        ask,
        async () => void selfAsked++,
        () => Date.now(),
      );
    expect(run?.progress).toMatchObject({ done: ['A', 'R', 'B'], queue: [] });
    expect(run?.progress.completedAt).toBeDefined();
    expect(selfAsked).toBe(1);
    expect(events.filter((e) => e.type === 'upgrade-complete')).toHaveLength(1);
  });

  it('a run found over is shown complete and told nobody; one whose request expired is halted with why', async () => {
    const over = await takeOver(Date.now(), true, ['A', 'B'], false);
    expect(over.run?.progress.completedAt).toBeDefined();
    expect(over.events).toEqual([]);
    // Not over where a member has not returned yet, even when this node has.
    expect((await takeOver(Date.now(), true)).run?.finished).toBe(false);
    const expired = await takeOver(Date.now() - 11 * 60_000);
    expect(expired.run?.progress.halted?.reason).toMatch(/^not continued by the new leader: issued too long ago/);
    expect(expired.events.map((e) => e.type)).toEqual(['upgrade-started', 'upgrade-progress', 'upgrade-halted']);
    expect(await (await takeOver(Date.now() - 2 * 3_600_000)).run).toBeNull();
  });
});
