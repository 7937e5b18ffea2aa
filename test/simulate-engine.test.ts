import { describe, expect, it } from 'vitest';
import { type ScalingInput, scalingSchema } from '../shared/config/scaling-schema.ts';
import { simulate } from '../shared/scaling/simulate/engine.ts';
import { parseTrace, type Trace } from '../shared/scaling/simulate/trace.ts';
import type { SimulationResult, SimulationSetup } from '../shared/scaling/simulate/types.ts';

/** The simulation engine on small made-up traces: launches, limits, failures, victims and the sums. */

const T0 = Date.parse('2024-05-01T00:00:00Z');

/** A `queue` trace: [seconds after T0, value] held until the next point. */
function trace(points: [number, number][]): Trace {
  const rows = points.map(([s, v]) => `${new Date(T0 + s * 1000).toISOString()},queue,${v}`);
  return parseTrace(['time,metric,value', ...rows].join('\n'), 'made-up.csv');
}

function run(t: Trace, scaling: ScalingInput, over: Partial<SimulationSetup> = {}): SimulationResult {
  return simulate(t, {
    cloud: 'web',
    bounds: { min: 2, max: 6 },
    config: scalingSchema.parse({
      expandWhen: 'queue > 10 for 10s',
      contractWhen: 'queue < 1 for 10s',
      cooldown: { expand: '30s', contract: '30s' },
      minimumRuntime: '0s',
      interval: '1s',
      ...scaling,
    }),
    launchTimeMs: 20_000,
    applyTimeMs: 10_000,
    maxPerStep: null,
    failureRate: 0,
    seed: 1,
    ...over,
  });
}

const actions = (r: SimulationResult) =>
  r.decisions.filter((d) => d.action !== 'none').map((d) => [(d.at - T0) / 1000, d.action, d.count]);

describe('simulate', () => {
  it('acts when a rule has held for its sustain, then waits out the cooldown, up to max', () => {
    const r = run(
      trace([
        [0, 50],
        [600, 50],
      ]),
      {},
    );
    // Held from 0 s, sustained at 10 s; then every 30 s (the cooldown) until max (6).
    expect(actions(r)).toEqual([
      [10, 'expand', 1],
      [40, 'expand', 1],
      [70, 'expand', 1],
      [100, 'expand', 1],
    ]);
    expect(r.decisions.some((d) => d.blocked === 'at-max')).toBe(true);
    expect(r.summary.peak).toBe(6);
  });

  it('counts a launch at once, a member after the launch time, ready after the apply time', () => {
    const r = run(
      trace([
        [0, 50],
        [60, 50],
      ]),
      { cooldown: { expand: '10m', contract: '10m' } },
    );
    expect(r.timeline.map((p) => [(p.at - T0) / 1000, p.instances, p.ready])).toEqual([
      [0, 2, 2],
      [11, 3, 2],
      // Launched at 10 s: joined at 30 s, bundle applied at 40 s.
      [40, 3, 3],
    ]);
  });

  it('launches at most maxPerStep per decision and says what was asked', () => {
    const r = run(
      trace([
        [0, 50],
        [120, 50],
      ]),
      { expandBy: 3 },
      { maxPerStep: 2 },
    );
    const expands = r.decisions.filter((d) => d.action === 'expand');
    expect(expands.map((d) => d.count)).toEqual([2, 2]);
    expect(expands[0]?.reason).toMatch(/\(3 asked, maxPerStep 2\)$/);
  });

  it('replaces launches that never join after joinTimeout, reproducibly for a seed', () => {
    const t = trace([
      [0, 50],
      [300, 50],
    ]);
    const failing = run(t, { joinTimeout: '60s' }, { failureRate: 1 });
    const replaces = failing.decisions.filter((d) => d.action === 'replace');
    expect(replaces.length).toBeGreaterThan(0);
    // Launched at 10 s, never joined, terminated at the first evaluation past 60 s.
    expect((replaces[0]!.at - T0) / 1000).toBe(71);
    expect(replaces[0]!.targets).toEqual(['sim-3']);
    expect(failing.timeline.every((p) => p.ready === 2)).toBe(true);

    const someFail = (seed: number) => run(t, { joinTimeout: '60s' }, { failureRate: 0.5, seed });
    expect(someFail(7)).toEqual(someFail(7));
    expect(run(t, { joinTimeout: '60s' }).summary.replaces).toBe(0);
  });

  it('refills below min without waiting for a rule, and never retires a member younger than minimumRuntime', () => {
    const below = run(
      trace([
        [0, 5],
        [30, 5],
      ]),
      {},
      { initial: 1 },
    );
    expect(actions(below)[0]).toEqual([0, 'expand', 1]);
    expect(below.decisions[0]?.reason).toBe('below min: 1 < 2');

    // Two members launched at 10 s and 40 s (joined at 30 s and 60 s), then the queue empties.
    const young = run(
      trace([
        [0, 50],
        [60, 0],
        [200, 0],
      ]),
      { minimumRuntime: '2m', cooldown: { expand: '30s', contract: '1s' } },
      { initial: 0 },
    );
    const refused = young.decisions.find((d) => d.reason.includes('younger than minimumRuntime'));
    expect(refused?.action).toBe('none');
    // The first contraction waits until the oldest launched member is 2 minutes past joining.
    const firstContract = young.decisions.find((d) => d.action === 'contract');
    expect(firstContract && (firstContract.at - T0) / 1000).toBeGreaterThanOrEqual(120);
  });

  it('sums instance-hours, time at max and time below target over the trace', () => {
    const idle = run(
      trace([
        [0, 5],
        [3600, 5],
      ]),
      {},
    );
    expect(idle.decisions.filter((d) => d.action !== 'none')).toEqual([]);
    expect(idle.summary).toMatchObject({ instanceHours: 2, atMaxMs: 0, belowTargetMs: 0, durationMs: 3_600_000 });

    const busy = run(
      trace([
        [0, 50],
        [3600, 50],
      ]),
      { cooldown: { expand: '1s', contract: '1s' } },
    );
    // Launches at 10, 11, 12 and 13 s, each counted from the next evaluation: at max (6) from 14 s.
    expect(busy.summary.atMaxMs).toBe(3_600_000 - 14_000);
    // The rule holds all along: below target the whole hour.
    expect(busy.summary.belowTargetMs).toBe(3_600_000);
    expect(busy.summary.instanceHours).toBeCloseTo((2 * 11 + 3 + 4 + 5 + 6 * (3600 - 14)) / 3600, 3);
  });

  it('records what the rules saw and their thresholds for the chart', () => {
    const r = run(
      trace([
        [0, 5],
        [20, 50],
        [40, 5],
      ]),
      {},
    );
    expect(r.thresholds).toEqual([
      { rule: 'expand', text: 'avg(queue) > 10', metric: 'queue', value: 10 },
      { rule: 'contract', text: 'avg(queue) < 1', metric: 'queue', value: 1 },
    ]);
    expect(r.terms.map((p) => [(p.at - T0) / 1000, p.values['avg(queue) > 10']])).toEqual([
      [0, 5],
      [20, 50],
      [40, 5],
    ]);
  });
});
