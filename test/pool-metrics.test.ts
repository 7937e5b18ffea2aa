import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { type CloudScalingView, decisionOutcome, registerPoolMetrics } from '../agent/monitor/pool-metrics.ts';
import type { ClusterView, PoolEvent } from '../shared/wire/cluster.ts';
import { promtoolCheck } from './fixtures/promtool.ts';
import { memberView, scalingView } from './helpers/pool-views.ts';

function rig(opts: { leads: boolean; scaling?: Record<string, CloudScalingView> }) {
  const registry = new Registry();
  const listeners = new Set<(e: PoolEvent) => void>();
  const cluster: ClusterView = {
    pool: 'shop',
    self: 'peer-w1',
    leader: { peerId: 'peer-w1', term: 4 },
    members: [
      memberView('w1', 'web', 'alive', { load: 0.9, queue: 12 }),
      memberView('w2', 'web', 'alive', { load: 0.7, cpu: null }),
      memberView('w3', 'web', 'suspect', { load: 0.1 }),
      memberView('b1', 'batch', 'dead', { load: 0 }),
    ],
  };
  registerPoolMetrics(registry, {
    pool: 'shop',
    cloud: 'web',
    instanceId: 'w1',
    cluster: () => cluster,
    scaling: () => opts.scaling,
    leads: () => opts.leads,
    subscribe: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  });
  const emit = (e: PoolEvent) => {
    for (const l of listeners) l(e);
  };
  return { registry, emit };
}

const webScaling = scalingView({ min: 2, max: 6 }, 3, { text: 'avg(load) > 0.8', threshold: 0.8, value: 0.85 }, 12_500);

describe('pool metrics', () => {
  it('exports each cloud against its bounds, the rules as the leader sees them, and the members by state', async () => {
    const { registry } = rig({
      leads: true,
      scaling: { web: webScaling, batch: { ...webScaling, instances: null, rules: { expand: null, contract: null } } },
    });
    const text = await registry.metrics();
    for (const line of [
      'poolparty_cloud_members{cloud="web",state="alive"} 2',
      'poolparty_cloud_members{cloud="web",state="suspect"} 1',
      'poolparty_cloud_members{cloud="batch",state="dead"} 1',
      'poolparty_cloud_min_instances{cloud="web"} 2',
      'poolparty_cloud_max_instances{cloud="batch"} 6',
      'poolparty_cloud_instances{cloud="web"} 3',
      'poolparty_rule_value{cloud="web",rule="expand",term="avg(load) > 0.8"} 0.85',
      'poolparty_rule_threshold{cloud="web",rule="expand",term="avg(load) > 0.8"} 0.8',
      'poolparty_rule_holds{cloud="web",rule="expand"} 1',
      'poolparty_rule_sustained_seconds{cloud="web",rule="expand"} 12.5',
      'poolparty_member_metric{cloud="web",instance_id="w1",metric="queue"} 12',
      'poolparty_member_metric{cloud="web",instance_id="w3",metric="load"} 0.1',
    ])
      expect(text).toContain(line);
    // Not counted yet: no series rather than a made-up 0.
    expect(text).not.toContain('poolparty_cloud_instances{cloud="batch"}');
    // Dead members' last readings and metrics with no value are not exported.
    expect(text).not.toContain('instance_id="b1"');
    expect(text).not.toContain('metric="cpu"');
    expect(text).toMatch(
      /poolparty_build_info\{version="0\.1\.0",node_version="v\d+[^"]*",pool="shop",cloud="web",instance_id="w1"\} 1/,
    );
    expect(promtoolCheck(text).status, promtoolCheck(text).output).toBe(0);
  });

  it('a follower exports no member metrics, and an agent that may not lead no bounds or rules', async () => {
    const { registry } = rig({ leads: false });
    const text = await registry.metrics();
    expect(text).not.toMatch(/^poolparty_member_metric\{/m);
    expect(text).not.toMatch(/^poolparty_cloud_min_instances\{/m);
    expect(text).not.toMatch(/^poolparty_rule_value\{/m);
    // Members by cloud come from the membership view, which every agent has.
    expect(text).toContain('poolparty_cloud_members{cloud="web",state="alive"} 2');
  });

  it('counts decisions by outcome, instances by action, and bundle applies with their duration', async () => {
    const { registry, emit } = rig({ leads: true, scaling: { web: webScaling } });
    const base = { at: 1, term: 4, cloud: 'web', instances: 3, reason: 'r' };
    emit({ type: 'scaling-decision', ...base, action: 'expand', count: 2, result: 'ok', policy: 'target' });
    emit({ type: 'scaling-decision', ...base, action: 'expand', count: 1, result: 'failed', error: 'quota' });
    emit({ type: 'scaling-decision', ...base, action: 'expand', count: 1, blocked: 'at max' });
    emit({ type: 'scaling-decision', ...base, action: 'none', count: 0 });
    emit({ type: 'bundle-applied', peerId: 'p', sha: 's', resolver: null, durationMs: 4_000, at: 1 });
    emit({ type: 'bundle-failed', peerId: 'p', sha: 's', stage: 'apply', error: 'x', at: 1 });
    const text = await registry.metrics();
    for (const line of [
      'poolparty_decisions_total{cloud="web",action="expand",outcome="ok",policy="target"} 1',
      'poolparty_decisions_total{cloud="web",action="expand",outcome="failed",policy="none"} 1',
      'poolparty_decisions_total{cloud="web",action="expand",outcome="blocked",policy="none"} 1',
      'poolparty_decisions_total{cloud="web",action="none",outcome="idle",policy="none"} 1',
      'poolparty_instance_actions_total{cloud="web",kind="expand",outcome="ok"} 2',
      'poolparty_instance_actions_total{cloud="web",kind="expand",outcome="failed"} 1',
      'poolparty_bundle_applies_total{outcome="ok"} 1',
      'poolparty_bundle_applies_total{outcome="failed"} 1',
      'poolparty_bundle_apply_duration_seconds_bucket{le="5"} 1',
      'poolparty_bundle_apply_duration_seconds_bucket{le="1"} 0',
    ])
      expect(text).toContain(line);
    expect(promtoolCheck(text).status).toBe(0);
  });

  it('reads the cluster view and the scalers once per scrape, and afresh at the next', async () => {
    const calls = { cluster: 0, scaling: 0 };
    let load = 0.5;
    const registry = new Registry();
    registerPoolMetrics(registry, {
      pool: 'shop',
      cloud: 'web',
      instanceId: 'w1',
      cluster: () => {
        calls.cluster++;
        return { pool: 'shop', self: 'peer-w1', leader: null, members: [memberView('w1', 'web', 'alive', { load })] };
      },
      scaling: () => {
        calls.scaling++;
        return { web: webScaling };
      },
      leads: () => true,
      subscribe: () => () => undefined,
    });
    expect(await registry.metrics()).toContain(
      'poolparty_member_metric{cloud="web",instance_id="w1",metric="load"} 0.5',
    );
    expect(calls).toEqual({ cluster: 1, scaling: 1 });
    load = 0.25;
    expect(await registry.metrics()).toContain(
      'poolparty_member_metric{cloud="web",instance_id="w1",metric="load"} 0.25',
    );
    expect(calls).toEqual({ cluster: 2, scaling: 2 });
  });

  it('names a decision outcome: the result when acted, blocked, or idle', () => {
    expect(decisionOutcome({ action: 'contract', result: 'failed' })).toBe('failed');
    expect(decisionOutcome({ action: 'expand', blocked: 'cooldown' })).toBe('blocked');
    expect(decisionOutcome({ action: 'none' })).toBe('idle');
  });
});
