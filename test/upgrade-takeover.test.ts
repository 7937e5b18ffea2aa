import { describe, expect, it } from 'vitest';
import { UpgradeLeader, type UpgradeLeaderOptions } from '../agent/upgrade/leader.ts';
import { UpgradeMember } from '../agent/upgrade/member.ts';
import { stageRefusalHalts } from '../agent/upgrade/refusal.ts';
import { LEADER_GATE_SLACK } from '../agent/upgrade/rollout.ts';
import type { ArtifactStore } from '../agent/upgrade/store.ts';
import type { SignedManifest } from '../shared/upgrade/manifest.ts';
import type { MemberUpgradeStatus, RolloutPlan, UpgradeRequest } from '../shared/upgrade/protocol.ts';
import type { UpgradeEvent } from '../shared/wire/cluster.ts';
import { waitFor } from './fixtures/wait.ts';

// A node that wins leadership mid-rollout, driven through the leader's tick with in-process
// members (their status answers) instead of libp2p: what it says on the event stream.
const SHA = 'a'.repeat(64);
const GATE = 60_000;
const plan: RolloutPlan = { sha256: SHA, version: '2', startedAt: 1_000, gateMs: GATE, maxUnavailable: 1 };
const onTarget = (at: number): MemberUpgradeStatus => ({
  version: '2',
  sha256: SHA,
  held: [SHA],
  ready: true,
  last: { sha256: SHA, ok: true, at },
});

type Answer = Record<string, unknown> & { ok: boolean };

/** The leader with its members answering in process: `answers` per peer and request type. */
class FakePeers extends UpgradeLeader {
  constructor(
    o: UpgradeLeaderOptions,
    readonly answers: (peer: string, req: UpgradeRequest) => Answer,
  ) {
    super(o);
  }
  override async ask(peer: string, req: UpgradeRequest) {
    return this.answers(peer, req);
  }
}

function leaderOf(
  peers: string[],
  answers: FakePeers['answers'],
  self: MemberUpgradeStatus,
  now: number,
  acting = () => true,
  staged: RolloutPlan = plan,
) {
  const events: UpgradeEvent[] = [];
  const logs: string[] = [];
  const store = {
    plan: async () => staged,
    writePlan: async () => undefined,
    signed: async () => ({ manifest: { sha256: SHA } }) as unknown as SignedManifest,
    read: async () => Buffer.from('artifact'),
    rollbackNotice: async () => null,
  } as unknown as ArtifactStore;
  const member = { status: async () => self } as unknown as UpgradeMember;
  const leader = new FakePeers(
    {
      node: null as never,
      member,
      store,
      selfPeerId: 'N',
      selfInstanceId: 'i-N',
      leading: () => true,
      acting,
      members: () => peers.map((p) => ({ peerId: p, instanceId: `i-${p}`, alive: true, version: '2' })),
      now: () => now,
      log: (msg) => logs.push(msg),
      emit: (e) => events.push(e),
    },
    answers,
  );
  return { leader, events, logs };
}

function takeover(
  statuses: Map<string, MemberUpgradeStatus>,
  self: MemberUpgradeStatus,
  now: number,
  acting = () => true,
  staged: RolloutPlan = plan,
) {
  const asked: string[] = [];
  const answers = (peer: string, req: UpgradeRequest): Answer => {
    const s = statuses.get(peer);
    if (req.type === 'announced') asked.push(peer);
    if (req.type === 'announced') return { ok: true };
    return req.type === 'status' && s ? { ok: true, ...s } : { ok: false, error: `unexpected ${req.type}` };
  };
  return { ...leaderOf([...statuses.keys()], answers, self, now, acting, staged), asked };
}

describe('a leader that takes over an upgrade rollout', () => {
  it('announces the completion when the leader before came back from its own restart before the takeover', async () => {
    // The leader before (OLD) restarted itself last and was back, confirmed, before N won
    // leadership: nobody has said the rollout is complete.
    const now = 100_000;
    const peers = new Map([
      ['B', onTarget(40_000)],
      ['OLD', onTarget(now - 1_000)],
    ]);
    const { leader, events, logs } = takeover(peers, onTarget(30_000), now);
    await leader.tick();
    expect(events).toEqual([{ type: 'upgrade-complete', sha: SHA, version: '2', at: now, members: 3 }]);
    expect(logs).toContain('upgrade-rollout-complete');
    expect(leader.rollout?.completedAt).toBe(now);
    await leader.tick();
    expect(events).toHaveLength(1);
  });

  it('drives nothing while it leads without its quorum lease (a node that elected itself alone)', async () => {
    // A member back from its restart may name itself leader before it hears the pool's leader.
    let lease = false;
    const peers = new Map([['B', { ...onTarget(40_000), sha256: null, version: '1', last: null }]]);
    const { leader, events } = takeover(peers, onTarget(90_000), 100_000, () => lease);
    await leader.tick();
    expect(leader.rollout).toBeNull();
    expect(events).toEqual([]);
    lease = true;
    await leader.tick();
    expect(leader.rollout?.sha256).toBe(SHA);
    expect(events[0]).toMatchObject({ type: 'upgrade-started', resumed: true });
  });

  it('has every member note the announcement, and a later leader that finds the note stays quiet', async () => {
    // Leadership moves again within the gate after the completion was announced (issue 19).
    const now = 100_000;
    const peers = new Map([
      ['B', onTarget(40_000)],
      ['OLD', onTarget(now - 1_000)],
    ]);
    const first = takeover(peers, onTarget(30_000), now);
    await first.leader.tick();
    expect(first.events.map((e) => e.type)).toEqual(['upgrade-complete']);
    await waitFor('every member told', () => (first.asked.length === 3 ? true : null), { timeoutMs: 5000 });
    expect([...first.asked].sort()).toEqual(['B', 'N', 'OLD']);
    // The next leader (any member: each noted it) takes over 2 s later, within the same window.
    const next = takeover(peers, onTarget(30_000), now + 2_000, () => true, { ...plan, announcedAt: now });
    await next.leader.tick();
    expect(next.leader.rollout?.completedAt).toBe(now + 2_000);
    expect(next.events).toEqual([]);
    expect(next.asked).toEqual([]);
  });

  it('stays quiet about a rollout that was complete long before (its leader then said so)', async () => {
    const now = 100_000 + GATE + LEADER_GATE_SLACK + 1;
    const peers = new Map([
      ['B', onTarget(40_000)],
      ['OLD', onTarget(100_000)],
    ]);
    const { leader, events } = takeover(peers, onTarget(30_000), now);
    await leader.tick();
    expect(leader.rollout?.completedAt).toBe(now);
    expect(events).toEqual([]);
  });
});

describe('a leader whose order to restart is refused', () => {
  const signed = { manifest: { sha256: SHA, version: '2' } } as unknown as SignedManifest;
  const old: MemberUpgradeStatus = { version: '1', sha256: null, held: [], ready: true, last: null };
  const refusing =
    (refusal: Answer) =>
    (_peer: string, req: UpgradeRequest): Answer =>
      req.type === 'stage' ? { ok: true, held: SHA } : req.type === 'activate' ? refusal : { ok: true, ...old };

  it('asks again when the member follows another leader (two nodes think they lead): no halt', async () => {
    const refusal = {
      ok: false,
      retry: true,
      error: 'only the leader this agent follows may activate (N does not lead)',
    };
    const { leader, events, logs } = leaderOf(['A'], refusing(refusal), old, 10);
    await leader.begin(signed, GATE, 1);
    await leader.tick(); // stage
    await leader.tick(); // activate: refused
    expect(leader.rollout?.halted).toBeUndefined();
    expect(leader.rollout?.members.find((m) => m.peerId === 'A')?.phase).toBe('staged');
    expect(logs).toContain('upgrade-activate-retry');
    expect(events.map((e) => e.type)).not.toContain('upgrade-halted');
  });

  it('halts at a member without the upgrade key when it refuses to stage, instead of asking it for ever', async () => {
    const keyless = new UpgradeMember({ publicKey: undefined } as unknown as ConstructorParameters<
      typeof UpgradeMember
    >[0]);
    const refusal = await keyless.answer({ type: 'stage', signed, holders: [] }, 'N');
    expect(refusal).toMatchObject({ ok: false, error: expect.stringMatching(/^refused: .*no upgrade key/) });
    const answers = (peer: string, req: UpgradeRequest): Answer =>
      peer === 'K' && req.type === 'stage'
        ? refusal
        : req.type === 'stage'
          ? { ok: true, held: SHA }
          : { ok: true, ...old };
    const { leader, events } = leaderOf(['A', 'K'], answers, old, 10);
    await leader.begin(signed, GATE, 1);
    await leader.tick();
    await leader.tick();
    expect(leader.rollout?.halted).toMatchObject({ instanceId: 'i-K', reason: refusal.error });
    expect(events.filter((e) => e.type === 'upgrade-halted')).toEqual([
      expect.objectContaining({ instanceId: 'i-K', reason: refusal.error }),
    ]);
    expect(events.some((e) => e.type === 'upgrade-progress' && e.phase === 'restarting')).toBe(false);
  });

  it('tells a refusal that halts from one asked again', () => {
    expect(stageRefusalHalts({ error: 'refused: not signed by the pool upgrade key' })).toBe(true);
    expect(stageRefusalHalts({ error: 'this agent has no upgrade key: it refuses every upgrade' })).toBe(true);
    expect(stageRefusalHalts({ retry: true, error: 'restarting already' })).toBe(false);
    expect(stageRefusalHalts({ retry: true, error: 'unreachable: dial timed out' })).toBe(false);
    expect(stageRefusalHalts({ error: 'no peer served artifact abc' })).toBe(false);
  });

  it('halts when the member refuses the artifact itself', async () => {
    const refusal = { ok: false, error: 'refused: signature does not verify' };
    const { leader, events } = leaderOf(['A'], refusing(refusal), old, 10);
    await leader.begin(signed, GATE, 1);
    await leader.tick();
    await leader.tick();
    expect(leader.rollout?.halted).toMatchObject({ peerId: 'A', reason: 'refused: signature does not verify' });
    expect(events.map((e) => e.type)).toContain('upgrade-halted');
  });
});
