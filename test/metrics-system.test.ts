import { describe, expect, it } from 'vitest';
import { MetricSampler } from '../agent/metrics/sampler.ts';
import { sampleSystem } from '../agent/metrics/system.ts';

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
