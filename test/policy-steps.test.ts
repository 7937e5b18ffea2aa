import { describe, expect, it } from 'vitest';
import { stepSchema } from '../shared/config/policy-schema.ts';
import { stepsVerdict } from '../shared/scaling/policies/steps.ts';

const steps = (...s: Record<string, unknown>[]) => s.map((x) => stepSchema.parse(x));
const at = (value: number | null) => () => value;
const policy = steps({ above: 0.7, add: 1 }, { above: 0.9, add: 3 }, { below: 0.2, remove: '10%' });

describe('step scaling', () => {
  it('takes the step furthest past its threshold', () => {
    expect(stepsVerdict(policy, at(0.8), 10)).toEqual({
      policy: 'steps',
      desired: 11,
      why: 'avg(load) 0.8 above 0.7: add 1',
    });
    expect(stepsVerdict(policy, at(0.95), 10)).toEqual({
      policy: 'steps',
      desired: 13,
      why: 'avg(load) 0.95 above 0.9: add 3',
    });
  });

  it('sizes a percentage step from the current count, at least one instance', () => {
    expect(stepsVerdict(policy, at(0.1), 10)?.desired).toBe(9);
    expect(stepsVerdict(policy, at(0.1), 25)?.desired).toBe(22); // 10 % of 25 = 2.5 → 3
    expect(stepsVerdict(policy, at(0.1), 3)).toEqual({
      policy: 'steps',
      desired: 2,
      why: 'avg(load) 0.1 below 0.2: remove 1',
    });
    expect(stepsVerdict(steps({ above: 1, add: '50%' }), at(2), 4)?.desired).toBe(6);
  });

  it('between thresholds: holds the size when it has below steps, no opinion when it has none', () => {
    expect(stepsVerdict(policy, at(0.5), 4)).toEqual({
      policy: 'steps',
      desired: 4,
      why: 'avg(load) 0.5: no step applies',
    });
    expect(stepsVerdict(steps({ above: 0.7, add: 1 }), at(0.5), 4)?.desired).toBeNull();
  });

  it('reads each step its own metric and aggregate', () => {
    const s = steps({ above: 100, add: 2, metric: 'queue', agg: 'permember' }, { below: 20, remove: 1, metric: 'cpu' });
    const seen: string[] = [];
    const verdict = stepsVerdict(
      s,
      (metric, agg) => {
        seen.push(`${agg}(${metric})`);
        return metric === 'queue' ? 150 : 10;
      },
      4,
    );
    expect(seen).toEqual(['permember(queue)', 'avg(cpu)']);
    expect(verdict).toMatchObject({ desired: 6, why: 'permember(queue) 150 above 100: add 2' });
  });

  it('has no opinion without fresh samples, and no verdict at all when unconfigured', () => {
    expect(stepsVerdict(policy, at(null), 4)).toEqual({
      policy: 'steps',
      desired: null,
      why: 'no fresh samples for any step',
    });
    expect(stepsVerdict([], at(0.9), 4)).toBeNull();
  });
});
