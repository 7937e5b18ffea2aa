import { describe, expect, it } from 'vitest';
import { lazyRemoter } from '../agent/scaler/for-agent.ts';
import { ActionLedger } from '../agent/scaler/ledger.ts';
import { type ControlDraft, type DecisionRecord, Scaler, type ScalerDeps } from '../agent/scaler/scaler.ts';
import { targetSchema } from '../shared/config/policy-schema.ts';
import type {
  InstanceRecord,
  LaunchRequest,
  ListFilter,
  ReconcileReport,
  RemoterBase,
} from '../shared/remoter/types.ts';
import { SCALING_DEFAULTS, type ScalingConfig } from '../shared/scaling/config.ts';
import type { MemberView } from '../shared/wire/cluster.ts';
import { intentRecord, memberView } from './helpers/records.ts';

/** A provider fake that records calls and can be told to list fewer instances (lag). */
class FakeProvider implements RemoterBase {
  readonly provider = 'fake';
  instances: InstanceRecord[] = [];
  calls: string[] = [];
  hideNew = false;
  #n = 0;
  async launch(req: LaunchRequest): Promise<InstanceRecord[]> {
    this.calls.push(`launch ${req.count} ${req.clientToken}`);
    const out: InstanceRecord[] = [];
    for (let i = 0; i < req.count; i++) {
      const rec: InstanceRecord = { id: `i-${++this.#n}`, state: 'pending', launchedAt: 0, tags: {} };
      out.push(rec);
      if (!this.hideNew) this.instances.push(rec);
    }
    return out;
  }
  async list(): Promise<InstanceRecord[]> {
    this.calls.push('list');
    return this.instances.filter((i) => i.state !== 'terminated');
  }
  async terminate(ids: string[]): Promise<void> {
    this.calls.push(`terminate ${ids.join(',')}`);
    for (const i of this.instances) if (ids.includes(i.id)) i.state = 'terminated';
  }
}

/** A provider with reconcile(): records the call, returns `report` or throws `failWith`. */
class ReconcilingProvider extends FakeProvider {
  report: ReconcileReport = { adopted: [], cleared: [], strays: [] };
  failWith: string | null = null;
  async reconcile(filter: ListFilter): Promise<ReconcileReport> {
    this.calls.push(`reconcile ${filter.pool}/${filter.cloud}`);
    if (this.failWith) throw new Error(this.failWith);
    return this.report;
  }
}

function setup<P extends FakeProvider = FakeProvider>(
  over: { config?: Partial<ScalingConfig>; min?: number; max?: number; provider?: P; deps?: Partial<ScalerDeps> } = {},
) {
  let now = 1_000_000;
  let leads: number | null = 1;
  const provider = (over.provider ?? new FakeProvider()) as P;
  const published: ControlDraft[] = [];
  const decisions: DecisionRecord[] = [];
  const retired: string[] = [];
  let members: MemberView[] = [];
  const config: ScalingConfig = {
    ...SCALING_DEFAULTS,
    expandWhen: 'load > 0.8 for 2s',
    contractWhen: 'load < 0.2 for 2s',
    cooldown: { expand: 10_000, contract: 10_000 },
    minimumRuntime: 0,
    ...over.config,
  };
  const deps: ScalerDeps = {
    pool: 'demo',
    cloud: 'web',
    min: over.min ?? 1,
    max: over.max ?? 3,
    config,
    deadAfter: 5000,
    replaceAfter: 60_000,
    remoter: () => provider,
    ledger: new ActionLedger(),
    now: () => now,
    leads: () => leads,
    selfPeerId: () => 'p-i-1',
    selfInstanceId: () => 'i-1',
    retireSelf: (reason) => {
      retired.push(reason);
    },
    members: () => members,
    publish: async (m) => {
      published.push(m);
      provider.calls.push(`publish ${m.type}`);
    },
    onDecision: (d) => decisions.push(d),
    log: () => {},
    ...over.deps,
  };
  const scaler = new Scaler(deps);
  return {
    scaler,
    retired,
    provider,
    published,
    decisions,
    deps,
    advance: (ms: number) => {
      now += ms;
    },
    setLeads: (t: number | null) => {
      leads = t;
    },
    setMembers: (m: MemberView[]) => {
      members = m;
    },
    /** Provider instances all joined as members with the given load. */
    joinAll: (load: number) => {
      members = provider.instances
        .filter((i) => i.state !== 'terminated')
        .map((i) => memberView(i.id, { metrics: { load } }));
    },
  };
}

describe('scaler shell (fake provider, fake clock)', () => {
  it('announces the intent before calling the provider, then the outcome', async () => {
    const s = setup();
    await s.scaler.step(); // below min: 0 < 1
    expect(s.provider.calls).toEqual([
      'list',
      'publish intent',
      expect.stringMatching(/^launch 1 pp-1-1-/),
      'publish outcome',
    ]);
    expect(s.decisions[0]).toMatchObject({ action: 'expand', count: 1, result: 'ok', reason: 'below min: 0 < 1' });
  });

  it('expands only after the rule is sustained, one step per cooldown, up to max', async () => {
    const s = setup();
    await s.scaler.step();
    s.joinAll(0.9);
    for (let i = 0; i < 60; i++) {
      s.advance(500);
      await s.scaler.step();
      s.joinAll(0.9);
    }
    const launches = s.provider.calls.filter((c) => c.startsWith('launch'));
    expect(launches).toHaveLength(3); // min 1, then +1 twice, never past max 3
    const tokens = launches.map((l) => l.split(' ')[2]);
    expect(new Set(tokens).size).toBe(3);
    expect(s.decisions.some((d) => d.blocked === 'at-max')).toBe(true);
  });

  it('counts launches the provider does not list yet, so lag cannot cause a second launch', async () => {
    const s = setup({ min: 2, max: 5 });
    s.provider.hideNew = true;
    await s.scaler.step();
    s.advance(500);
    await s.scaler.step();
    s.advance(500);
    await s.scaler.step();
    expect(s.provider.calls.filter((c) => c.startsWith('launch'))).toEqual([expect.stringMatching(/^launch 2 /)]);
  });

  it('fences: an action whose term is lost before the provider call is not carried out', async () => {
    const s = setup();
    s.deps.publish = async (m) => {
      s.published.push(m);
      if (m.type === 'intent') s.setLeads(null); // a better claim arrived while we announced
    };
    await s.scaler.step();
    expect(s.provider.calls.filter((c) => c.startsWith('launch'))).toEqual([]);
    expect(s.decisions[0]).toMatchObject({ action: 'expand', result: 'failed' });
    expect(s.decisions[0]?.error).toMatch(/no longer ours/);
  });

  it('does nothing while not leading, but keeps rule sustain warm', async () => {
    const s = setup();
    s.setLeads(null);
    s.setMembers([memberView('i-1', { metrics: { load: 0.95 } })]);
    await s.scaler.step();
    s.advance(3000);
    await s.scaler.step();
    expect(s.provider.calls).toEqual([]);
    expect(s.scaler.snapshot().rules.expand?.sustain.satisfied).toBe(true);
  });

  it('honours an in-flight intent of a dead leader until intentTimeout', async () => {
    const s = setup({ config: { intentTimeout: 5000 } });
    s.deps.ledger.intent(intentRecord({ peerId: 'p-dead', token: 'pp-1-1-x', at: 1_000_000 }));
    s.setLeads(2);
    await s.scaler.step();
    expect(s.provider.calls.filter((c) => c.startsWith('launch'))).toEqual([]);
    expect(s.decisions.at(-1)).toMatchObject({ action: 'none', blocked: 'in-flight' });
    s.advance(5000);
    await s.scaler.step();
    expect(s.provider.calls.filter((c) => c.startsWith('launch'))).toHaveLength(1);
  });

  it("acts at once when the provider lists a dead leader's in-flight launch under its token", async () => {
    // The EC2 kill rounds whose leader died before RunInstances answered: the launch was listed and
    // adopted, and the next leader still waited intentTimeout (60 s) before its cloud could act.
    const s = setup({ min: 3, max: 4 });
    s.deps.ledger.intent(intentRecord({ peerId: 'p-dead', token: 'pp-1-1-x', at: 1_000_000 }));
    const rec = (id: string, tags: Record<string, string> = {}) => ({
      id,
      state: 'running' as const,
      launchedAt: 0,
      tags,
    });
    s.provider.instances = [rec('i-1'), rec('i-9', { 'poolparty:token': 'pp-1-1-y' })];
    s.joinAll(0.5);
    s.setLeads(2);
    await s.scaler.step();
    // Listed under another token only: the dead leader's launch may still be on its way.
    expect(s.decisions.at(-1)).toMatchObject({ action: 'none', blocked: 'in-flight' });
    s.provider.instances.push(rec('i-8', { 'poolparty:token': 'pp-1-1-x' }));
    s.joinAll(0.5);
    await s.scaler.step();
    expect(s.provider.calls.filter((c) => c.startsWith('launch'))).toHaveLength(0);
    expect(s.decisions.at(-1)?.blocked).toBeUndefined();
    // Below min now (i-9 gone): healed at once, the adopted i-8 counted.
    s.provider.instances = s.provider.instances.filter((i) => i.id !== 'i-9');
    s.joinAll(0.5);
    await s.scaler.step();
    expect(s.provider.calls.filter((c) => c.startsWith('launch'))).toHaveLength(1);
  });

  it('drains the victim (retire) before terminating it, and never picks itself while others exist', async () => {
    const s = setup({ config: { drainTimeout: 0 } });
    s.provider.instances = ['i-1', 'i-2', 'i-3'].map((id) => ({ id, state: 'running', launchedAt: 0, tags: {} }));
    s.setMembers(['i-1', 'i-2', 'i-3'].map((id, n) => memberView(id, { metrics: { load: 0.05 + n / 100 } })));
    await s.scaler.step();
    s.advance(2500);
    await s.scaler.step();
    expect(s.published.map((m) => m.type)).toEqual(['intent', 'retire', 'outcome']);
    expect(s.provider.calls.at(-2)).toBe('terminate i-2'); // least loaded that is not the leader (i-1)
  });

  it('hands over instead of terminating itself when the leader is the only eligible victim', async () => {
    const s = setup({ config: { minimumRuntime: 60_000 } });
    s.provider.instances = ['i-1', 'i-2'].map((id) => ({ id, state: 'running', launchedAt: 0, tags: {} }));
    // i-2 is too young to retire; the leader (i-1) is old enough.
    s.setMembers([
      memberView('i-1', { metrics: { load: 0.01 } }),
      memberView('i-2', { metrics: { load: 0.01 }, startedAt: 1_000_000 }),
    ]);
    await s.scaler.step();
    s.advance(2500);
    await s.scaler.step();
    expect(s.provider.calls.filter((c) => c.startsWith('terminate'))).toEqual([]);
    expect(s.retired).toHaveLength(1);
    expect(s.decisions.at(-1)).toMatchObject({ action: 'contract', targets: ['i-1'] });
  });

  it('terminates orphans: never joined within joinTimeout, or dead past deadAfter + deadGrace', async () => {
    const s = setup({ min: 0, config: { joinTimeout: 60_000, deadGrace: 1000, expandWhen: null, contractWhen: null } });
    s.provider.instances = [
      { id: 'i-1', state: 'running', launchedAt: 0, tags: {} },
      { id: 'i-ghost', state: 'running', launchedAt: 0, tags: {} },
      { id: 'i-dead', state: 'running', launchedAt: 0, tags: {} },
    ];
    s.provider.instances.push({ id: 'i-left', state: 'running', launchedAt: 0, tags: {} });
    s.setMembers([
      memberView('i-1'),
      memberView('i-dead', { state: 'dead', lastSeenMs: 61_000 }),
      memberView('i-left', { state: 'left', lastSeenMs: 40_000 }),
    ]);
    await s.scaler.step();
    expect(s.provider.calls).toContain('terminate i-ghost,i-dead,i-left');
    expect(s.decisions[0]).toMatchObject({ action: 'replace', result: 'ok' });
    expect(s.decisions[0]?.reason).toMatch(/never joined/);
  });

  it('keeps a dead member whose instance the provider still runs until replaceAfter (a partition costs no machine)', async () => {
    const s = setup({ min: 0, config: { joinTimeout: 60_000, deadGrace: 1000, expandWhen: null, contractWhen: null } });
    s.provider.instances = [
      { id: 'i-1', state: 'running', launchedAt: 0, tags: {} },
      { id: 'i-cut-off', state: 'running', launchedAt: 0, tags: {} },
    ];
    s.setMembers([memberView('i-1'), memberView('i-cut-off', { state: 'dead', lastSeenMs: 45_000 })]);
    await s.scaler.step();
    expect(s.provider.calls.filter((c) => c.startsWith('terminate'))).toEqual([]);
    s.setMembers([memberView('i-1'), memberView('i-cut-off', { state: 'dead', lastSeenMs: 61_000 })]);
    await s.scaler.step();
    expect(s.provider.calls).toContain('terminate i-cut-off');
  });

  it('does not replace a running instance on silence it saw without a quorum (a minority leader after the heal)', async () => {
    let heldFor = 5_000;
    const s = setup({
      min: 0,
      config: { joinTimeout: 60_000, deadGrace: 1000, expandWhen: null, contractWhen: null },
      deps: { leaseHeldFor: () => heldFor },
    });
    s.provider.instances = [
      { id: 'i-1', state: 'running', launchedAt: 0, tags: {} },
      { id: 'i-other-side', state: 'running', launchedAt: 0, tags: {} },
    ];
    s.setMembers([memberView('i-1'), memberView('i-other-side', { state: 'dead', lastSeenMs: 90_000 })]);
    await s.scaler.step();
    expect(s.provider.calls.filter((c) => c.startsWith('terminate'))).toEqual([]);
    heldFor = 61_000;
    await s.scaler.step();
    expect(s.provider.calls).toContain('terminate i-other-side');
  });

  it('a new leader does not take an instance it never saw for one that never joined, until replaceAfter', async () => {
    let heldFor = 5_000;
    const s = setup({
      min: 0,
      config: { joinTimeout: 30_000, deadGrace: 1000, expandWhen: null, contractWhen: null },
      deps: { leaseHeldFor: () => heldFor },
    });
    s.provider.instances = [
      { id: 'i-1', state: 'running', launchedAt: 0, tags: {} },
      { id: 'i-reaped-elsewhere', state: 'running', launchedAt: 0, tags: {} },
    ];
    s.setMembers([memberView('i-1')]);
    await s.scaler.step();
    expect(s.provider.calls.filter((c) => c.startsWith('terminate'))).toEqual([]);
    heldFor = 61_000;
    await s.scaler.step();
    expect(s.provider.calls).toContain('terminate i-reaped-elsewhere');
  });

  it('counts, then reconciles once per term before the listing it acts on, and records what it found', async () => {
    const provider = new ReconcilingProvider();
    provider.report = { adopted: ['i-7'], cleared: ['i-8'], strays: ['i-9'] };
    provider.instances = [{ id: 'i-7', state: 'running', launchedAt: 0, tags: {} }];
    const s = setup({ provider, config: { expandWhen: null, contractWhen: null } });
    s.setMembers([memberView('i-7')]);
    await s.scaler.step();
    await s.scaler.step();
    // The first listing is the count its lease needs (a lone member's lease of one ends there).
    expect(provider.calls.slice(0, 3)).toEqual(['list', 'reconcile demo/web', 'list']);
    expect(provider.calls.filter((c) => c.startsWith('reconcile'))).toHaveLength(1);
    expect(s.decisions[0]).toMatchObject({ action: 'none', term: 1, targets: ['i-9'] });
    expect(s.decisions[0]?.reason).toMatch(/adopted i-7; cleared i-8; ended strays i-9/);
    // A new term (this node lost and won again) reconciles again.
    s.setLeads(2);
    await s.scaler.step();
    expect(provider.calls.filter((c) => c.startsWith('reconcile'))).toHaveLength(2);
  });

  it('reconciles again every 30 s within a term: a stray that appeared after the first pass is ended', async () => {
    const provider = new ReconcilingProvider();
    const s = setup({ provider, config: { expandWhen: null, contractWhen: null } });
    await s.scaler.step();
    s.advance(10_000);
    await s.scaler.step();
    expect(provider.calls.filter((c) => c.startsWith('reconcile'))).toHaveLength(1);
    provider.report = { adopted: [], cleared: [], strays: ['i-late'] };
    s.advance(21_000);
    await s.scaler.step();
    expect(provider.calls.filter((c) => c.startsWith('reconcile'))).toHaveLength(2);
    expect(s.decisions.map((d) => d.reason)).toContainEqual(expect.stringMatching(/^reconciled: ended strays i-late/));
  });

  it('does not act while reconcile fails: records the error once, retries on the next step', async () => {
    const provider = new ReconcilingProvider();
    provider.failWith = 'state file locked';
    const s = setup({ provider }); // below min: would launch
    await s.scaler.step();
    s.advance(500);
    await s.scaler.step();
    expect(provider.calls).toEqual(['list', 'reconcile demo/web', 'reconcile demo/web']);
    expect(s.decisions).toHaveLength(1);
    expect(s.decisions[0]).toMatchObject({ action: 'none', result: 'failed' });
    expect(s.decisions[0]?.reason).toMatch(/reconcile failed: state file locked/);
    provider.failWith = null;
    s.advance(500);
    await s.scaler.step();
    expect(provider.calls.slice(3)).toEqual([
      'reconcile demo/web',
      'list',
      'publish intent',
      expect.stringMatching(/^launch 1 /),
      'publish outcome',
    ]);
  });

  it('a provider whose list fails: a failed decision (an error line), said once while it repeats', async () => {
    const provider = new FakeProvider();
    let failing = true;
    provider.list = async () => {
      provider.calls.push('list');
      if (failing) throw new Error('RequestLimitExceeded');
      return provider.instances.filter((i) => i.state !== 'terminated');
    };
    const s = setup({ provider });
    for (let i = 0; i < 3; i++) {
      await s.scaler.step();
      s.advance(500);
    }
    expect(provider.calls.filter((c) => c === 'list')).toHaveLength(3);
    expect(s.decisions).toEqual([
      expect.objectContaining({
        action: 'none',
        result: 'failed',
        reason: 'provider list failed: RequestLimitExceeded',
      }),
    ]);
    expect(provider.calls.some((c) => c.startsWith('launch'))).toBe(false);
    failing = false;
    await s.scaler.step();
    expect(provider.calls.some((c) => c.startsWith('launch'))).toBe(true);
  });

  it('a reconcile whose term is lost meanwhile is not counted as done and nothing more is listed', async () => {
    const provider = new ReconcilingProvider();
    const s = setup({ provider });
    provider.reconcile = async (filter) => {
      provider.calls.push(`reconcile ${filter.pool}/${filter.cloud}`);
      s.setLeads(null);
      return provider.report;
    };
    await s.scaler.step();
    expect(provider.calls).toEqual(['list', 'reconcile demo/web']);
  });

  it("the agent's lazy remoter forwards reconcile (and answers an empty report for a provider without one)", async () => {
    const provider = new ReconcilingProvider();
    provider.report = { adopted: [], cleared: [], strays: ['i-3'] };
    expect(await lazyRemoter(async () => provider).reconcile?.({ pool: 'demo', cloud: 'web' })).toEqual(
      provider.report,
    );
    expect(provider.calls).toEqual(['reconcile demo/web']);
    expect(await lazyRemoter(async () => new FakeProvider()).reconcile?.({ pool: 'demo' })).toEqual({
      adopted: [],
      cleared: [],
      strays: [],
    });
  });

  it('a member reaped from the view is not "never joined": replaced only after replaceAfter, like a dead one', async () => {
    const s = setup({ min: 0, config: { joinTimeout: 1000, deadGrace: 1000, expandWhen: null, contractWhen: null } });
    s.provider.instances = [
      { id: 'i-1', state: 'running', launchedAt: 0, tags: {} },
      { id: 'i-cut-off', state: 'running', launchedAt: 0, tags: {} },
      { id: 'i-ghost', state: 'running', launchedAt: 0, tags: {} },
    ];
    s.setLeads(null); // a follower remembers too, so a new leader knows who was a member
    s.setMembers([memberView('i-1'), memberView('i-cut-off')]);
    await s.scaler.step();
    // Partitioned away, declared dead, then reaped from the view (reapAfter is shorter than replaceAfter).
    s.advance(10_000);
    s.setMembers([memberView('i-1')]);
    s.setLeads(1);
    await s.scaler.step();
    expect(s.provider.calls).toContain('terminate i-ghost'); // never a member: the joinTimeout rule
    expect(s.provider.calls.filter((c) => c.includes('i-cut-off'))).toEqual([]);
    s.advance(51_000); // 61 s since last heard: past replaceAfter (60 s)
    await s.scaler.step();
    expect(s.provider.calls).toContain('terminate i-cut-off');
    expect(s.decisions.at(-1)?.reason).toMatch(/i-cut-off gone from the view, last heard 61s ago/);
  });

  it('acts on a policy and records which one decided and what each asked for', async () => {
    const s = setup({
      min: 1,
      max: 5,
      config: { expandWhen: null, contractWhen: null, target: targetSchema.parse({ metric: 'load', value: 0.5 }) },
    });
    await s.scaler.step(); // below min: 1 launch
    s.joinAll(1.0);
    s.advance(10_000); // past the expand cooldown the below-min launch started
    await s.scaler.step();
    expect(s.decisions.at(-1)).toMatchObject({
      action: 'expand',
      count: 1, // 1 × 1.0 / 0.5 = 2
      result: 'ok',
      policy: 'target',
      reason: 'avg(load) 1 vs target 0.5: 1 → 2',
      policies: [{ policy: 'target', desired: 2, why: 'avg(load) 1 vs target 0.5: 1 → 2' }],
    });
    expect(s.scaler.snapshot().policies).toEqual([{ policy: 'target', desired: 2, why: expect.any(String) }]);
  });

  it("leaves out a member's metrics older than maxMetricAge, and a member still warming up", async () => {
    const s = setup({ config: { maxMetricAge: 5000, warmup: 60_000, minimumRuntime: 0 } });
    s.provider.instances = [{ id: 'i-1', state: 'running', launchedAt: 0, tags: {} }];
    // Stale (reports stopped 6 s ago) and warming (started 1 s ago, no bundle): neither counts.
    s.setMembers([
      memberView('i-1', { metrics: { load: 0.95 }, metricsAgeMs: 6000, startedAt: 0 }),
      memberView('i-2', { metrics: { load: 0.95 }, startedAt: 999_000 }),
    ]);
    await s.scaler.step();
    s.advance(3000);
    await s.scaler.step();
    expect(s.scaler.snapshot().rules.expand?.holds).toBe(false);
    expect(s.scaler.snapshot().counted).toEqual({ warming: ['i-2'], stale: 1 });
    // Its bundle applied and verified, the new member counts before its warm-up is over.
    const ready = { applied: 'a'.repeat(64), state: 'ok' as const };
    s.setMembers([
      memberView('i-1', { metricsAgeMs: 6000 }),
      memberView('i-2', { metrics: { load: 0.95 }, startedAt: 999_000, bundle: ready }),
    ]);
    await s.scaler.step();
    expect(s.scaler.snapshot().rules.expand?.holds).toBe(true);
  });
});
