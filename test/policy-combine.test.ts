import { describe, expect, it } from 'vitest';
import { scalingSchema } from '../shared/config/scaling-schema.ts';
import { initialScalingState, type StepInput, type StepMember, stepScaling } from '../shared/scaling/step.ts';

const NOW = Date.parse('2026-12-07T12:00:00Z');

const member = (id: string, cpu: number, over: Partial<StepMember> = {}): StepMember => ({
  id,
  metrics: { cpu: { value: cpu, at: NOW - 1000 } },
  launchedAt: 0,
  ready: true,
  ...over,
});

function input(scaling: Record<string, unknown>, cpu: number[], over: Partial<StepInput> = {}): StepInput {
  return {
    now: NOW,
    members: cpu.map((v, i) => member(`i-${i}`, v)),
    count: cpu.length,
    bounds: { min: 1, max: 10 },
    config: scalingSchema.parse({ cooldown: { expand: 0, contract: 0 }, ...scaling }),
    lastExpandAt: null,
    lastContractAt: null,
    inFlight: null,
    ...over,
  };
}

const decide = (i: StepInput) => stepScaling(initialScalingState(), i).decision;
const target = { metric: 'cpu', value: 60, scaleInStabilization: 0 };
const steps = [
  { metric: 'cpu', above: 70, add: 1 },
  { metric: 'cpu', below: 20, remove: 1 },
];

describe('policies combined: largest desired size wins for scale-out, all must agree for scale-in', () => {
  it('scale-out: the largest desired size wins and names its policy', () => {
    // cpu 90 on 3: target asks 5, the step asks 4.
    const d = decide(input({ target, steps }, [90, 90, 90]));
    expect(d).toMatchObject({
      action: 'expand',
      count: 2,
      policy: 'target',
      reason: 'avg(cpu) 90 vs target 60: 3 → 5',
    });
    expect(d.policies).toEqual([
      { policy: 'target', desired: 5, why: 'avg(cpu) 90 vs target 60: 3 → 5' },
      { policy: 'steps', desired: 4, why: 'avg(cpu) 90 above 70: add 1' },
    ]);
  });

  it('scale-in only when every policy with an opinion agrees, then by the most cautious', () => {
    // cpu 25 on 4: target asks 2, but the steps hold 4 (25 is above their 20): nothing.
    const held = decide(input({ target, steps }, [25, 25, 25, 25]));
    expect(held).toMatchObject({ action: 'none' });
    expect(held.reason).toBe('target: avg(cpu) 25 vs target 60: 4 → 2; steps: avg(cpu) 25: no step applies');
    // cpu 15 on 4: target asks 1, the step asks 3: remove one.
    expect(decide(input({ target, steps }, [15, 15, 15, 15]))).toMatchObject({
      action: 'contract',
      count: 1,
      policy: 'steps',
    });
  });

  it('an unsustained contract rule is a policy that does not agree to scale in', () => {
    const d = decide(input({ target, contractWhen: 'cpu < 10 for 1m' }, [30, 30, 30, 30]));
    expect(d.action).toBe('none');
    expect(decide(input({ target }, [30, 30, 30, 30]))).toMatchObject({ action: 'contract', count: 2 });
  });

  it('a schedule window raises min: the bound expands at once and names the schedule', () => {
    const schedule = [{ cron: '0 8 * * 1-5', min: 4 }];
    const d = decide(input({ target, schedule }, [60, 60]));
    expect(d).toMatchObject({ action: 'expand', count: 2, policy: 'schedule', reason: 'below min: 2 < 4' });
    expect(stepScaling(initialScalingState(), input({ schedule }, [60, 60])).bounds).toEqual({ min: 4, max: 10 });
  });

  it('cooldowns and max hold policy actions as they hold rules', () => {
    const cooled = input({ target, cooldown: { expand: '1m' } }, [90, 90], { lastExpandAt: NOW - 30_000 });
    expect(decide(cooled)).toMatchObject({ action: 'none', blocked: 'cooldown', policy: 'target' });
    expect(decide(input({ target }, [90, 90], { bounds: { min: 1, max: 2 } }))).toMatchObject({
      action: 'none',
      blocked: 'at-max',
    });
  });

  it("a warming member's idle cpu does not pull the average down into a scale-in", () => {
    const members = [
      member('old-1', 60),
      member('old-2', 60),
      member('new', 0, { launchedAt: NOW - 10_000, ready: false }),
    ];
    const r = stepScaling(initialScalingState(), input({ target, warmup: '5m' }, [], { members, count: 3 }));
    expect(r.decision.action).toBe('none');
    expect(r.counted.warming).toEqual(['new']);
    // Without warm-up the fresh node's 0 % makes the average 40 and the target asks for 2.
    expect(decide(input({ target }, [], { members, count: 3 }))).toMatchObject({ action: 'contract', count: 1 });
  });

  it('stale samples never drive a decision', () => {
    const stale = [member('a', 95, { metrics: { cpu: { value: 95, at: NOW - 120_000 } } })];
    const d = decide(input({ target, steps }, [], { members: stale, count: 1 }));
    expect(d.action).toBe('none');
    expect(d.policies.map((p) => p.desired)).toEqual([null, null]);
  });
});
