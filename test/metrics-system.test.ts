import { describe, expect, it } from 'vitest';
import { MetricSampler } from '../agent/metrics/sampler.ts';
import { parseMeminfo, parseProcStat, sampleSystem } from '../agent/metrics/system.ts';

describe('built-in system metrics', () => {
  it('samples load, cpu and mem in plausible ranges', async () => {
    for (let i = 0; i < 2; i++) {
      const s = await sampleSystem();
      expect(s.load).toBeGreaterThanOrEqual(0);
      expect(s.cpu).toBeGreaterThanOrEqual(0);
      expect(s.cpu).toBeLessThanOrEqual(100);
      expect(s.mem).toBeGreaterThan(0);
      expect(s.mem).toBeLessThanOrEqual(100);
    }
  });

  it('is what the sampler uses by default', async () => {
    const sampler = new MetricSampler({ sampleInterval: 60_000, sources: {} });
    await sampler.start();
    await sampler.stop();
    const v = sampler.values();
    expect(Object.keys(v).sort()).toEqual(['cpu', 'load', 'mem']);
    expect(v.load).toBeGreaterThanOrEqual(0);
    expect(v.cpu).toBeGreaterThanOrEqual(0);
    expect(v.cpu).toBeLessThanOrEqual(100);
    expect(v.mem).toBeGreaterThan(0);
    expect(v.mem).toBeLessThanOrEqual(100);
    expect(sampler.readings().mem?.error).toBeUndefined();
  });
});

describe('procfs parsing', () => {
  it('reads busy and total ticks from the aggregate cpu line, iowait counted idle', () => {
    const text = 'cpu  100 5 50 800 40 3 2 0 0 0\ncpu0 50 2 25 400 20 1 1 0 0 0\nintr 1\n';
    expect(parseProcStat(text)).toEqual({ idle: 840, total: 1000 });
    expect(parseProcStat('intr 1\n')).toBeUndefined();
  });

  it('reads total and active memory, falling back without MemAvailable', () => {
    expect(parseMeminfo('MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 400 kB\n')).toEqual({
      total: 1000 * 1024,
      active: 600 * 1024,
    });
    const old = 'MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 150 kB\nSlab: 0 kB\n';
    expect(parseMeminfo(old)).toEqual({ total: 1000 * 1024, active: 700 * 1024 });
    expect(parseMeminfo('')).toBeUndefined();
  });
});
