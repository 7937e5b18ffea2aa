import { describe, expect, it } from 'vitest';
import { busyBetween, cpuTimes, quietMachine } from './bench/lib/quiet.ts';

const STAT_A = 'cpu  100 5 50 800 40 0 5 0 0 0\ncpu0 50 2 25 400 20 0 3 0 0 0\nintr 1\n';
const STAT_B = 'cpu  160 5 70 900 60 0 5 0 0 0\ncpu0 80 2 35 450 30 0 3 0 0 0\nintr 2\n';

describe('bench quiet-machine wait', () => {
  it('reads busy and total jiffies from the aggregate line (idle and iowait are idle)', () => {
    expect(cpuTimes(STAT_A)).toEqual({ busy: 160, total: 1000 });
  });

  it('the busy fraction between two readings is busy jiffies over all jiffies', () => {
    // busy +80 (user +60, system +20), idle +100, iowait +20: 80 / 200
    expect(busyBetween(cpuTimes(STAT_A), cpuTimes(STAT_B))).toBeCloseTo(0.4, 5);
    expect(busyBetween(cpuTimes(STAT_A), cpuTimes(STAT_A))).toBe(0);
  });

  it('names what is wrong with an unreadable /proc/stat', () => {
    expect(() => cpuTimes('intr 1\n')).toThrow(/no aggregate cpu line/);
    expect(() => cpuTimes('cpu  1 x 3 4 5\n')).toThrow(/cpu line unreadable/);
  });

  it('returns within its bound with a real sample of this machine', async () => {
    const q = await quietMachine(1);
    expect(q.waitedMs).toBeGreaterThanOrEqual(900);
    expect(q.busy).toBeGreaterThanOrEqual(0);
    expect(q.busy).toBeLessThanOrEqual(1);
  });
});
