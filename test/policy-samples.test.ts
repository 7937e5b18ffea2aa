import { describe, expect, it } from 'vitest';
import { countedMetrics, type SampledMember } from '../shared/scaling/samples.ts';

const now = 1_000_000;
const member = (id: string, over: Partial<SampledMember> = {}): SampledMember => ({
  id,
  metrics: { cpu: { value: 50, at: now - 1000 } },
  launchedAt: 0,
  ready: false,
  ...over,
});

describe('which metrics count (metric age and warm-up)', () => {
  it('drops samples older than maxMetricAge, keeping the member’s fresh ones', () => {
    const c = countedMetrics(
      [member('a', { metrics: { cpu: { value: 90, at: now - 61_000 }, queue: { value: 3, at: now - 5000 } } })],
      now,
      { maxMetricAge: 60_000, warmup: 0 },
    );
    expect(c.maps.map((m) => ({ ...m }))).toEqual([{ queue: 3 }]);
    expect(c.stale).toBe(1);
  });

  it('leaves out a member that is neither ready nor past warmup; counts it once either is true', () => {
    const cfg = { maxMetricAge: 60_000, warmup: 300_000 };
    const young = member('young', { launchedAt: now - 10_000 });
    const ready = member('ready', { launchedAt: now - 10_000, ready: true });
    const old = member('old', { launchedAt: now - 300_000 });
    const c = countedMetrics([young, ready, old], now, cfg);
    expect(c.warming).toEqual(['young']);
    expect(c.maps).toHaveLength(2);
    // warmup 0 (the default) counts everyone from its first report.
    expect(countedMetrics([young], now, { ...cfg, warmup: 0 }).maps).toHaveLength(1);
  });

  it('keeps a metric named like an Object property as a plain metric', () => {
    const c = countedMetrics([member('a', { metrics: { constructor: { value: 2, at: now } } })], now, {
      maxMetricAge: 60_000,
      warmup: 0,
    });
    expect(Object.hasOwn(c.maps[0] as object, 'constructor')).toBe(true);
    expect(c.maps[0]?.constructor).toBe(2);
  });
});
