import { describe, expect, it } from 'vitest';
import { bootstrapPlan, configurePlan, type NodeBundle, planText, terminatePlan } from '../cli/plan-steps.ts';
import { parsePool } from '../shared/config/load.ts';
import type { CloudDefinition } from '../shared/config/schema.ts';
import type { InstanceRecord } from '../shared/remoter/types.ts';

const cloud = parsePool(
  { name: 'p', clouds: { web: { instances: { min: 3, max: 5 }, using: { provider: 'local' } } } },
  'clouds.ts',
).clouds.web as CloudDefinition;

function instance(id: string, state: InstanceRecord['state'] = 'running', extra: object = {}): InstanceRecord {
  return {
    id,
    state,
    privateIp: `127.0.0.${id.slice(-1)}`,
    launchedAt: 0,
    tags: { 'poolparty:pool': 'p', 'poolparty:cloud': 'web' },
    monitor: `http://127.0.0.${id.slice(-1)}:8642`,
    ...extra,
  };
}

describe('plan', () => {
  it('bootstrap into an empty cloud launches min', () => {
    const p = bootstrapPlan('web', cloud, []);
    expect(p.launch).toBe(3);
    expect(p.instances.map((i) => [i.id, i.action])).toEqual([
      ['(new)', 'launch'],
      ['(new)', 'launch'],
      ['(new)', 'launch'],
    ]);
  });

  it('bootstrap counts running instances towards min, ignores terminated ones, re-provisions silent ssh hosts', () => {
    const listed = [
      instance('local-1'),
      instance('local-2', 'terminated'),
      instance('local-3', 'running', { agent: 'unreachable' }),
    ];
    const p = bootstrapPlan('web', cloud, listed);
    expect(p.launch).toBe(2);
    expect(p.instances.map((i) => [i.id, i.action])).toEqual([
      ['local-1', 'keep'],
      ['local-3', 'launch'],
      ['(new)', 'launch'],
    ]);
    expect(p.notes).toEqual(['pool exists: 1 running instance(s) count towards min 3']);
    const full = bootstrapPlan('web', cloud, [
      instance('local-1'),
      instance('local-2'),
      instance('local-3'),
      instance('local-4'),
    ]);
    expect(full.launch).toBe(0);
    expect(full.notes).toContain('nothing to launch');
  });

  it('terminate ends every live instance', () => {
    const p = terminatePlan('web', cloud, [
      instance('local-1'),
      instance('local-2', 'terminated'),
      instance('local-3', 'pending'),
    ]);
    expect(p.end).toEqual(['local-1', 'local-3']);
    expect(terminatePlan('web', cloud, []).notes).toEqual(['nothing to terminate']);
  });

  it('configure compares each node with the bundle and says which it could not ask', () => {
    const sha = 'a'.repeat(64);
    const old = 'b'.repeat(64);
    const nodes = new Map<string, NodeBundle>([
      ['local-1', { applied: sha, target: null, state: 'applied' }],
      ['local-2', { applied: old, target: sha, state: 'applying' }],
      ['local-3', { unreachable: 'connection refused' }],
    ]);
    const listed = [
      instance('local-1'),
      instance('local-2'),
      instance('local-3'),
      instance('local-4', 'running', { monitor: undefined }),
    ];
    const p = configurePlan('web', cloud, listed, sha, nodes);
    expect(p.bundle).toBe(sha);
    expect(p.instances.map((i) => [i.id, i.action, i.bundle, i.note])).toEqual([
      ['local-1', 'unchanged', sha, undefined],
      ['local-2', 'update', old, 'applying aaaaaaaaaaaa'],
      ['local-3', 'unknown', undefined, 'unreachable: connection refused'],
      ['local-4', 'unknown', undefined, 'no monitor address'],
    ]);
    expect(p.notes).toEqual(['1 to update, 1 already on it, 2 not reachable']);
    const text = planText({ pool: 'p', command: 'configure', clouds: [p] });
    expect(text).toContain(`  bundle ${sha}`);
    expect(text).toMatch(/update\s+local-2\s+running\s+127\.0\.0\.2\s+bbbbbbbbbbbb\s+applying aaaaaaaaaaaa/);
    expect(text.endsWith('plan: configure would update 1 node(s), 2 unknown')).toBe(true);
  });

  it('configure of a cloud without configuration rolls out nothing', () => {
    const p = configurePlan('web', cloud, [instance('local-1')], null, new Map());
    expect(p.instances.map((i) => i.action)).toEqual(['unchanged']);
    expect(p.notes[0]).toMatch(/^nothing to configure/);
  });
});
