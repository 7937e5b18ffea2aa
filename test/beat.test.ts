import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Beat } from '../agent/beat.ts';
import { ticker } from '../agent/lifecycle.ts';

/**
 * An agent's periodic work of whole seconds runs on one timer (agent/beat.ts): each 1 s timer of
 * its own woke an idle follower at its own moment (~4 of its ~20 wake-ups a second).
 */
beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Beat', () => {
  it('runs tasks of 1, 2 and 5 beats on one timer, each at its own period', () => {
    const beat = new Beat(1000, (err) => {
      throw err;
    });
    const runs: Record<string, number[]> = { a: [], b: [], c: [] };
    beat.repeat(1000, () => runs.a?.push(Date.now()));
    beat.repeat(2000, () => runs.b?.push(Date.now()));
    beat.repeat(5000, () => runs.c?.push(Date.now()));
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(10_000);
    expect(runs.a).toEqual([1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10_000]);
    expect(runs.b).toEqual([2000, 4000, 6000, 8000, 10_000]);
    expect(runs.c).toEqual([5000, 10_000]);
  });

  it('a period that is not a whole number of beats gets a timer of its own, at that period', () => {
    const beat = new Beat(1000, () => undefined);
    const at: number[] = [];
    beat.repeat(1000, () => undefined);
    beat.repeat(1500, () => at.push(Date.now()));
    beat.repeat(500, () => undefined);
    expect(vi.getTimerCount()).toBe(3);
    vi.advanceTimersByTime(3000);
    expect(at).toEqual([1500, 3000]);
  });

  it('a task that throws is reported, and the later tasks of the same beat still run', () => {
    const errors: string[] = [];
    const beat = new Beat(1000, (err) => errors.push(err.message));
    let after = 0;
    beat.repeat(1000, () => {
      throw new Error('boom');
    });
    beat.repeat(1000, () => after++);
    vi.advanceTimersByTime(2000);
    expect(errors).toEqual(['boom', 'boom']);
    expect(after).toBe(2);
  });

  it('a cancelled task stops, even one cancelled by an earlier task of the same beat; the last cancel stops the timer', () => {
    const beat = new Beat(1000, () => undefined);
    let second = 0;
    let cancelSecond: () => void = () => undefined;
    const cancelFirst = beat.repeat(1000, () => {
      if (Date.now() === 4000) cancelSecond();
    });
    cancelSecond = beat.repeat(2000, () => second++);
    vi.advanceTimersByTime(4000);
    expect(second).toBe(1); // at 2000 only: cancelled at 4000 before its turn in that beat
    cancelFirst();
    expect(vi.getTimerCount()).toBe(0);
    const again: number[] = [];
    beat.repeat(1000, () => again.push(Date.now()));
    vi.advanceTimersByTime(2000);
    expect(again).toEqual([5000, 6000]);
  });

  it("a ticker on the beat runs at the ticker's period and stops with it", () => {
    const beat = new Beat(500, () => undefined);
    let n = 0;
    const t = ticker(
      't',
      1000,
      () => n++,
      () => undefined,
      beat.repeat,
    );
    t.start();
    vi.advanceTimersByTime(3000);
    expect(n).toBe(3);
    t.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('tells how late each beat ran beyond its period (the event-loop lag gauge), from the second on', () => {
    const lags: number[] = [];
    const beat = new Beat(
      1000,
      () => undefined,
      (ms) => lags.push(ms),
      () => Date.now(),
    );
    beat.repeat(1000, () => undefined);
    vi.advanceTimersByTime(2000);
    expect(lags).toEqual([0]);
    // A stalled loop: the next beat fires 700 ms late (fake timers run it when time is advanced).
    vi.setSystemTime(Date.now() + 700);
    vi.advanceTimersByTime(1000);
    expect(lags).toEqual([0, 700]);
  });
});
