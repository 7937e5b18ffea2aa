import { describe, expect, it } from 'vitest';
import type { MemberRequest } from '../agent/upgrade/ask.ts';
import { CatchUp } from '../agent/upgrade/catch-up-driver.ts';
import type { UpgradeRollout } from '../agent/upgrade/rollout.ts';
import type { ArtifactStore } from '../agent/upgrade/store.ts';
import type { SignedManifest } from '../shared/upgrade/manifest.ts';
import type { MemberUpgradeStatus, RolloutPlan } from '../shared/upgrade/protocol.ts';
import type { UpgradeEvent } from '../shared/wire/cluster.ts';

// The catch-up's I/O shell (agent/upgrade/catch-up-driver.ts) with in-process members: when a
// leader catches members up at all, and what it asks of whom.
const T = 'd'.repeat(64);
const U = 'e'.repeat(64);
const plan: RolloutPlan = { sha256: T, version: '1.2.0', startedAt: 1_000, gateMs: 30_000, maxUnavailable: 1 };
const announced = { ...plan, announcedAt: 50_000 };
const install: MemberUpgradeStatus = { version: '1.1.0', sha256: null, held: [], ready: true, last: null, trial: null };
const statuses: Record<string, MemberUpgradeStatus> = {
  A: { ...install, version: '1.2.0', sha256: T, held: [T] },
  B: install,
  C: { ...install, version: '9.9.9', sha256: U, held: [U] },
};

function leaderOf(o: { plan?: RolloutPlan | null; trial?: string | null; notice?: number; runs?: string | null } = {}) {
  const asked: Array<[string, MemberRequest]> = [];
  const events: UpgradeEvent[] = [];
  const store = {
    plan: async () => (o.plan === undefined ? announced : o.plan),
    openTrial: async () => o.trial ?? null,
    rollbackNotice: async () => (o.notice ? { signed: { request: { pool: 'p', issuedAt: o.notice } } } : null),
    signed: async () => ({ manifest: { sha256: T } }) as unknown as SignedManifest,
    held: async () => [T],
  } as unknown as ArtifactStore;
  const catchUp = new CatchUp({
    store,
    selfPeerId: 'L',
    members: () =>
      Object.entries(statuses).map(([p, s]) => ({ peerId: p, instanceId: `i-${p}`, alive: true, version: s.version })),
    ask: async (peer, req) => {
      asked.push([peer, req]);
      if (req.type === 'status') return { ok: true, ...statuses[peer] };
      if (req.type === 'activate') return { ok: true, restart: true };
      return { ok: true };
    },
    now: () => 100_000,
    log: () => undefined,
    emit: (e) => events.push(e),
    running: () => ({ sha256: o.runs === undefined ? T : o.runs }),
  });
  return { catchUp, asked, events };
}

const kinds = (asked: Array<[string, MemberRequest]>, type: string) =>
  asked.filter(([, r]) => r.type === type).map(([p]) => p);

describe('a leader catching members up', () => {
  it('stages and restarts the member on its install only, with the plan; tells members on T of the completion', async () => {
    const { catchUp, asked, events } = leaderOf();
    await catchUp.tick(null);
    expect(kinds(asked, 'status').sort()).toEqual(['A', 'B', 'C']);
    expect(kinds(asked, 'stage')).toEqual(['B']);
    expect(kinds(asked, 'activate')).toEqual(['B']);
    expect(kinds(asked, 'announced')).toEqual(['A']);
    const stage = asked.find(([, r]) => r.type === 'stage')?.[1];
    expect(stage).toMatchObject({ holders: ['A', 'L'], rollout: announced });
    expect(asked.find(([, r]) => r.type === 'activate')?.[1]).toEqual({ type: 'activate', sha256: T, gateMs: 30_000 });
    expect(events.map((e) => e.type)).toEqual(['upgrade-started', 'upgrade-progress', 'upgrade-progress']);
    expect(catchUp.view).toMatchObject({
      sha256: T,
      current: { peerId: 'B' },
      members: { A: 'target', C: 'other-artifact' },
    });
    // Members that cannot change without a restart are not asked again; the one restarting is.
    asked.length = 0;
    await catchUp.tick(null);
    expect(kinds(asked, 'status')).toEqual(['B']);
    expect(kinds(asked, 'stage')).toEqual([]);
  });

  it('does nothing without a completed rollout of what it runs, with its own gate open, or after a --rollback', async () => {
    const inProgress = { sha256: T, completedAt: undefined } as unknown as UpgradeRollout;
    const cases = [
      leaderOf({ plan: plan }), // completion not known: never announced, nothing in memory
      leaderOf({ plan: null }),
      leaderOf({ runs: null }), // runs its install
      leaderOf({ runs: U }), // runs another artifact than the plan's
      leaderOf({ trial: T }), // its own gate still open
      leaderOf({ notice: 60_000 }), // a --rollback signed after the rollout began
    ];
    for (const c of cases) await c.catchUp.tick(null);
    const busy = leaderOf();
    await busy.catchUp.tick(inProgress);
    for (const c of [...cases, busy]) {
      expect(c.asked).toEqual([]);
      expect(c.catchUp.view).toBeNull();
    }
    // Complete in this leader's memory (its plan not noted yet): enough.
    const done = leaderOf({ plan });
    await done.catchUp.tick({ sha256: T, completedAt: 90_000 } as unknown as UpgradeRollout);
    expect(kinds(done.asked, 'activate')).toEqual(['B']);
  });
});
