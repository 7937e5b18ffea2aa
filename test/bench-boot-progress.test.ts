import { describe, expect, it } from 'vitest';
import { elapsed } from '../cli/progress.ts';
import { bootTimes, elapsedSeconds } from './bench/lib/boot-progress.ts';

describe('the bootstrap scenario reads where the time went from the CLI progress lines', () => {
  it('reads back every form the CLI prints', () => {
    for (const ms of [400, 12_300, 125_000, 498_000, 3_780_000]) {
      const back = elapsedSeconds(elapsed(ms));
      expect(back).not.toBeNull();
      // The CLI drops the tenths past a minute and the seconds past an hour.
      expect(Math.abs((back as number) * 1000 - ms)).toBeLessThan(ms >= 3_600_000 ? 60_000 : 1000);
    }
    expect(elapsedSeconds('')).toBeNull();
    expect(elapsedSeconds('soon')).toBeNull();
  });

  it('the last launch and when the pool was up', () => {
    const stderr = [
      `[${elapsed(900).padStart(6)}] launching 3 instances in cloud local (0 running)`,
      `[${elapsed(1_500).padStart(6)}] launched local-0 at 127.1.2.2 (monitor http://127.1.2.2:8642)`,
      `[${elapsed(95_000).padStart(6)}] launched local-2 at 127.1.2.4 (monitor http://127.1.2.4:8642)`,
      `[${elapsed(130_000).padStart(6)}] local-2: sees 3/3 alive`,
      `[${elapsed(131_000).padStart(6)}] pool bench-bootstrap is up: 3/3 alive everywhere`,
      'bootstrap done',
    ].join('\n');
    expect(bootTimes(stderr)).toEqual({ lastLaunchedS: 95, upS: 131 });
    expect(bootTimes('error: something failed\n')).toEqual({ lastLaunchedS: null, upS: null });
  });
});
