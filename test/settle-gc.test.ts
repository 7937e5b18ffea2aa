import { afterEach, describe, expect, it, vi } from 'vitest';
import { armSettleGc, SETTLE_GC_MS } from '../agent/settle-gc.ts';

describe('the one GC after start (settle-gc.ts)', () => {
  afterEach(() => vi.useRealTimers());

  it('runs gc once, SETTLE_GC_MS after it was armed, and never again', () => {
    vi.useFakeTimers();
    const gc = vi.fn();
    armSettleGc(gc);
    vi.advanceTimersByTime(SETTLE_GC_MS - 1);
    expect(gc).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(gc).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(10 * SETTLE_GC_MS);
    expect(gc).toHaveBeenCalledTimes(1);
  });

  it('does nothing once disarmed (the agent stopped first)', () => {
    vi.useFakeTimers();
    const gc = vi.fn();
    armSettleGc(gc)();
    vi.advanceTimersByTime(2 * SETTLE_GC_MS);
    expect(gc).not.toHaveBeenCalled();
  });

  it('is a no-op without --expose-gc', () => {
    expect(() => armSettleGc(undefined)()).not.toThrow();
  });
});
