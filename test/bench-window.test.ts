import { describe, expect, it } from 'vitest';
import { type IdleWindow, idleMeasures } from './bench/lib/window.ts';

const idle = (cpuPct: number[], rssMb: number[]): IdleWindow => ({
  wireBytesPerAgentPerS: 500,
  wirePacketsPerAgentPerS: 4,
  cpuPct,
  rssMb,
  connections: null,
  windowMs: 10_000,
});

describe("the benchmarks' idle-window measures", () => {
  it('divides per-process CPU and RSS among the agents a host process runs, never Serf’s', () => {
    const m = idleMeasures(
      idle([2, 4, 6], [100, 120, 140]),
      idle([1, 1, 1], [30, 30, 30]),
      {
        wire: true,
        cpu: true,
        rss: true,
      },
      4,
    );
    expect(m.cpuPctPerAgent?.poolparty.samples).toEqual([0.5, 1, 1.5]);
    expect(m.cpuPctPerAgent?.serf?.samples).toEqual([1, 1, 1]);
    expect(m.cpuPctPerAgent?.met).toBe(true); // median 1 <= 1 %
    expect(m.rssMbPerAgent?.poolparty.samples).toEqual([25, 30, 35]);
    expect(m.rssMbPerAgent?.ratio).toBe(1);
    expect(m.rssMbPerAgent?.note).toContain('/ 4 agents');
    expect(m.wireBytesPerAgentPerS?.met).toBe(true);
  });

  it('has no bound where a target does not apply, and no note for one agent per process', () => {
    const m = idleMeasures(idle([3], [80]), null, { wire: false, cpu: false, rss: false });
    expect(m.cpuPctPerAgent).toMatchObject({ unit: '% of one core', met: null, serf: null, ratio: null });
    expect(m.rssMbPerAgent).toMatchObject({ unit: 'MB', target: 'informative', met: null });
    expect(m.rssMbPerAgent?.poolparty.median).toBe(80);
    expect(m.cpuPctPerAgent).not.toHaveProperty('note');
  });
});
