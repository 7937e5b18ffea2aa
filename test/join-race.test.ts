import { afterEach, describe, expect, it, vi } from 'vitest';
import { firstToAnswer, JOIN_STAGGER_MS } from '../agent/membership/join-race.ts';

/**
 * A join round's seeds are tried one at a time, the next also when the last is silent for
 * JOIN_STAGGER_MS: a seed that drops packets no longer holds a joiner for the whole join dial.
 */

type Plan = Record<string, { after: number; ok: boolean }>;

/** Attempts that settle per plan (never, when absent), recording starts and aborts. */
function attempts(plan: Plan) {
  const started: Array<{ item: string; at: number }> = [];
  const aborted: string[] = [];
  const attempt = (item: string, signal: AbortSignal) =>
    new Promise<string>((resolve, reject) => {
      started.push({ item, at: Date.now() });
      signal.addEventListener('abort', () => {
        aborted.push(item);
        reject(new Error('aborted'));
      });
      const p = plan[item];
      if (p) setTimeout(() => (p.ok ? resolve(`peer-${item}`) : reject(new Error('refused'))), p.after);
    });
  return { started, aborted, attempt };
}

describe('firstToAnswer (staggered join dials)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('one attempt when the first answers within the stagger', async () => {
    vi.useFakeTimers({ now: 0 });
    const { started, aborted, attempt } = attempts({ a: { after: JOIN_STAGGER_MS - 1, ok: true } });
    const race = firstToAnswer(['a', 'b', 'c'], attempt);
    await vi.advanceTimersByTimeAsync(JOIN_STAGGER_MS * 3);
    expect(await race).toEqual({ item: 'a', value: 'peer-a' });
    expect(started.map((s) => s.item)).toEqual(['a']);
    expect(aborted).toEqual([]);
  });

  it('a failure starts the next at once', async () => {
    vi.useFakeTimers({ now: 0 });
    const { started, attempt } = attempts({ a: { after: 10, ok: false }, b: { after: 10, ok: true } });
    const race = firstToAnswer(['a', 'b'], attempt);
    await vi.advanceTimersByTimeAsync(100);
    expect(await race).toEqual({ item: 'b', value: 'peer-b' });
    expect(started).toEqual([
      { item: 'a', at: 0 },
      { item: 'b', at: 10 },
    ]);
  });

  it('a silent seed: the next starts after the stagger and wins; the silent one is aborted', async () => {
    vi.useFakeTimers({ now: 0 });
    const { started, aborted, attempt } = attempts({ b: { after: 1000, ok: true } });
    const race = firstToAnswer(['a', 'b', 'c'], attempt, 5000);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(await race).toEqual({ item: 'b', value: 'peer-b' });
    expect(started).toEqual([
      { item: 'a', at: 0 },
      { item: 'b', at: 5000 },
    ]);
    expect(aborted).toEqual(['a']);
  });

  it('a slow first seed that answers before the second still wins, and the second is aborted', async () => {
    vi.useFakeTimers({ now: 0 });
    const { aborted, attempt } = attempts({ a: { after: 7000, ok: true }, b: { after: 9000, ok: true } });
    const race = firstToAnswer(['a', 'b'], attempt, 5000);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(await race).toEqual({ item: 'a', value: 'peer-a' });
    expect(aborted).toEqual(['b']);
  });

  it('null when every attempt failed, and for no items', async () => {
    vi.useFakeTimers({ now: 0 });
    const { started, attempt } = attempts({ a: { after: 6000, ok: false }, b: { after: 100, ok: false } });
    const race = firstToAnswer(['a', 'b'], attempt, 5000);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(await race).toBeNull();
    expect(started.map((s) => s.item)).toEqual(['a', 'b']);
    expect(await firstToAnswer([], attempt)).toBeNull();
  });
});
