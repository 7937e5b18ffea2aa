import { describe, expect, it } from 'vitest';
import { Chores } from '../agent/membership/chores.ts';

/** Housekeeping on the membership core's ticks (chores.ts): each chore at most once per `every`. */
describe('Chores', () => {
  it('runs each chore at the first tick at least `every` ms after its last run', () => {
    const runs: string[] = [];
    const chores = new Chores([
      { every: 0, run: () => runs.push('each') },
      { every: 1000, run: () => runs.push('second') },
    ]);
    for (const now of [0, 300, 700, 1000, 1400, 1999, 2100]) chores.due(now);
    expect(runs.filter((r) => r === 'each')).toHaveLength(7);
    // At 0, then 1000 (1000 after 0), then 2100 (1999 is only 999 after 1000).
    expect(runs.filter((r) => r === 'second')).toHaveLength(3);
  });

  it('a chore that throws is reported and does not keep the others from running', () => {
    const errors: unknown[] = [];
    let ran = 0;
    const chores = new Chores([
      {
        every: 0,
        run: () => {
          throw new Error('boom');
        },
      },
      { every: 0, run: () => ran++ },
    ]);
    chores.due(0, (e) => errors.push(e));
    expect(ran).toBe(1);
    expect((errors[0] as Error).message).toBe('boom');
  });
});
