import { describe, expect, it } from 'vitest';
import { waitFor } from './fixtures/wait.ts';

describe('waitFor', () => {
  it('returns the first truthy value the check gives', async () => {
    let calls = 0;
    const value = await waitFor('the third call', () => (++calls >= 3 ? { calls } : null), { everyMs: 1 });
    expect(value).toEqual({ calls: 3 });
  });

  it('treats a throwing check as not yet, and awaits an async one', async () => {
    let calls = 0;
    const value = await waitFor(
      'a check that fails twice',
      async () => {
        if (++calls < 3) throw new Error('refused');
        return 'up';
      },
      { everyMs: 1 },
    );
    expect(value).toBe('up');
  });

  it('names what it waited for and the last value on timeout', async () => {
    const view = { alive: [] as string[] };
    await expect(
      waitFor('3 members alive', () => (view.alive.length === 3 ? view : view.alive.length), {
        timeoutMs: 30,
        everyMs: 5,
      }),
    ).rejects.toThrow(/^timed out after 30 ms waiting for 3 members alive; last value: 0$/);
  });

  it('names the last error on timeout', async () => {
    await expect(
      waitFor(
        'the monitor',
        () => {
          throw new Error('connect ECONNREFUSED 127.0.0.1:8642');
        },
        { timeoutMs: 20, everyMs: 5 },
      ),
    ).rejects.toThrow('waiting for the monitor; last error: connect ECONNREFUSED 127.0.0.1:8642');
  });

  it('checks once more at the deadline instead of giving up after a pause', async () => {
    const start = Date.now();
    let calls = 0;
    // The pause is longer than the timeout: only the check at the deadline can see it true.
    const value = await waitFor(
      'a condition met during the only pause',
      () => {
        calls++;
        return Date.now() - start >= 40;
      },
      { timeoutMs: 50, everyMs: 1_000 },
    );
    expect(value).toBe(true);
    expect(calls).toBe(2);
    expect(Date.now() - start).toBeLessThan(1_000);
  });
});
