import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPool, resolveCloud } from '../shared/config/load.ts';
import type { ScalingConfig } from '../shared/scaling/config.ts';
import { simulate } from '../shared/scaling/simulate/engine.ts';
import { parseTrace, type Trace } from '../shared/scaling/simulate/trace.ts';
import type { LoadModel, SimulationResult } from '../shared/scaling/simulate/types.ts';

/**
 * The example traces of examples/traces/ (scripts/make-traces.mjs) replayed against the example
 * pool there, with the outcomes each trace was made to show.
 */

const HOUR = 3_600_000;
const MINUTE = 60_000;
let base: { bounds: { min: number; max: number }; config: ScalingConfig };
let eager: typeof base;

async function cloud(file: string) {
  const { cloud: def } = resolveCloud(await loadPool(file), 'web');
  return { bounds: def.instances, config: def.scaling };
}

async function trace(name: string): Promise<Trace> {
  const file = `examples/traces/${name}`;
  return parseTrace(await readFile(file, 'utf8'), file);
}

function run(t: Trace, c = base, load: LoadModel = 'replay'): SimulationResult {
  return simulate(t, {
    cloud: 'web',
    ...c,
    launchTimeMs: 90_000,
    applyTimeMs: 30_000,
    maxPerStep: null,
    failureRate: 0,
    seed: 1,
    load,
  });
}

const acts = (r: SimulationResult, action: 'expand' | 'contract') => r.decisions.filter((d) => d.action === action);
const last = <T>(list: T[]) => list[list.length - 1] as T;

beforeAll(async () => {
  base = await cloud('examples/traces/clouds.ts');
  eager = await cloud('examples/traces/clouds-eager.ts');
});

describe('spike.csv', () => {
  it('expands within the sustain window of the spike and contracts after it, one cooldown apart', async () => {
    const t = await trace('spike.csv');
    // Where the spike begins and ends, read from the trace (above the expand threshold).
    const high = t.samples.filter((s) => s.value > 0.7);
    const spikeStart = high[0]!.at;
    const spikeEnd = last(high).at;
    const r = run(t);
    const expands = acts(r, 'expand');
    const contracts = acts(r, 'contract');
    const { interval, cooldown } = base.config;
    const sustain = 2 * MINUTE; // 'for 2m' in clouds.ts
    expect(expands.length).toBeGreaterThanOrEqual(1);
    // The first expansion comes as soon as the rule has held for its sustain (to within one
    // sample of the trace and one evaluation).
    expect(expands[0]!.at - spikeStart).toBeGreaterThanOrEqual(sustain);
    expect(expands[0]!.at - spikeStart).toBeLessThanOrEqual(sustain + 15_000 + interval);
    // Expansions are a cooldown apart and stop with the spike.
    for (let i = 1; i < expands.length; i++) {
      expect(expands[i]!.at - expands[i - 1]!.at).toBeGreaterThanOrEqual(cooldown.expand);
    }
    expect(last(expands).at).toBeLessThanOrEqual(spikeEnd);
    // Contractions only after the quiet rule has held (5m) past the spike, a cooldown apart, down to min.
    expect(contracts.length).toBe(expands.reduce((n, d) => n + d.count, 0));
    expect(contracts[0]!.at - spikeEnd).toBeGreaterThanOrEqual(5 * MINUTE);
    for (let i = 1; i < contracts.length; i++) {
      expect(contracts[i]!.at - contracts[i - 1]!.at).toBeGreaterThanOrEqual(cooldown.contract);
    }
    expect(last(r.timeline).instances).toBe(base.bounds.min);
  });

  it('an eager config follows it with more instances, at more instance-hours', async () => {
    const t = await trace('spike.csv');
    const a = run(t);
    const b = run(t, eager);
    expect(acts(b, 'expand')[0]!.at).toBeLessThan(acts(a, 'expand')[0]!.at);
    expect(b.summary.peak).toBeGreaterThan(a.summary.peak);
    expect(b.summary.instanceHours).toBeGreaterThan(a.summary.instanceHours);
  });
});

describe('flapping.jsonl', () => {
  it('moves nothing: the load never stays across a threshold for the sustain', async () => {
    const t = await trace('flapping.jsonl');
    const r = run(t);
    expect(r.decisions.filter((d) => d.action !== 'none')).toEqual([]);
    expect(r.summary).toMatchObject({ peak: base.bounds.min, lowest: base.bounds.min });
    // Both rules did start holding, again and again: the trace does cross both thresholds.
    expect(r.decisions.some((d) => d.reason.startsWith('expand rule holding'))).toBe(true);
    expect(r.decisions.some((d) => d.reason.startsWith('contract rule holding'))).toBe(true);
  });

  it('without the sustain the same trace makes the pool oscillate', async () => {
    const t = await trace('flapping.jsonl');
    const hasty = {
      ...base,
      config: {
        ...base.config,
        expandWhen: 'avg(load) > 0.7',
        contractWhen: 'avg(load) < 0.3',
        cooldown: { expand: 0, contract: 0 },
        minimumRuntime: 0,
      },
    };
    const r = run(t, hasty);
    expect(acts(r, 'expand').length).toBeGreaterThan(3);
    expect(acts(r, 'contract').length).toBeGreaterThan(3);
  });
});

describe('daily-cycle.csv', () => {
  it('grows in the busy hours only and is back at min for the night', async () => {
    const t = await trace('daily-cycle.csv');
    const r = run(t);
    const hourOf = (at: number) => (at - t.start) / HOUR;
    for (const d of acts(r, 'expand')) expect(hourOf(d.at)).toBeGreaterThan(7);
    for (const d of [...acts(r, 'expand'), ...acts(r, 'contract')]) expect(hourOf(d.at)).toBeLessThan(21);
    const at3 = r.timeline.filter((p) => hourOf(p.at) <= 3);
    expect(last(at3).instances).toBe(base.bounds.min);
    expect(last(r.timeline).instances).toBe(base.bounds.min);
  });

  it('costs the integral of its count timeline in instance-hours; spreading the load costs less', async () => {
    const t = await trace('daily-cycle.csv');
    for (const load of ['replay', 'spread'] as const) {
      const r = run(t, base, load);
      let ms = 0;
      r.timeline.forEach((p, i) => {
        const until = r.timeline[i + 1]?.at ?? r.end;
        ms += p.instances * (until - p.at);
      });
      expect(r.summary.instanceHours).toBeCloseTo(ms / HOUR, 2);
      expect(r.summary.instanceHours).toBeGreaterThanOrEqual(base.bounds.min * 24);
      expect(r.summary.instanceHours).toBeLessThanOrEqual(base.bounds.max * 24);
    }
    // Replayed, the busy afternoon pins the pool at max; spread over the new members it does not.
    const replay = run(t, base, 'replay');
    const spread = run(t, base, 'spread');
    expect(replay.summary.atMaxMs).toBeGreaterThan(0);
    expect(spread.summary.peak).toBeLessThan(base.bounds.max);
    expect(spread.summary.instanceHours).toBeLessThan(replay.summary.instanceHours);
  });

  it('target tracking (clouds-target.ts) sizes the pool from the ratio to its target, through the same step', async () => {
    const t = await trace('daily-cycle.csv');
    const target = await cloud('examples/traces/clouds-target.ts');
    const r = run(t, target, 'spread');
    const expands = acts(r, 'expand');
    expect(expands.length).toBeGreaterThan(0);
    for (const d of [...expands, ...acts(r, 'contract')])
      expect(d.reason).toMatch(/^avg\(load\) [\d.]+ vs target 0\.6: /);
    // It acts on the ratio before the threshold rule's 0.7 has held for two minutes.
    expect(expands[0]!.at).toBeLessThan(acts(run(t, base, 'spread'), 'expand')[0]!.at);
    expect(r.thresholds).toContainEqual({ rule: 'target', text: 'avg(load) = 0.6', metric: 'load', value: 0.6 });
  });
});
