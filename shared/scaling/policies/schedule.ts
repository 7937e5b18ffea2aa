import { Cron } from 'croner';
import type { ScheduleWindow } from '../../config/policy-schema.ts';
import type { PolicyVerdict } from './verdict.ts';

export interface Bounds {
  min: number;
  max: number;
}

/** The window in force at an instant, and since when. */
export interface ActiveWindow {
  window: ScheduleWindow;
  since: number;
}

/**
 * Scheduled capacity: the cloud's min/max at `now`. A window is in force from each time its cron
 * fires, for its `for`; without `for`, until another window without `for` fires. Of the windows
 * in force the one that fired last wins, so a short `for` window overlays the standing ones.
 * Pure: cron times are computed from `now`, never from a timer.
 */
export function activeWindow(windows: readonly ScheduleWindow[], now: number): ActiveWindow | null {
  const fired = windows.map((window) => ({ window, since: lastFire(window, now) }));
  const standing = fired.filter((f) => f.window.for === undefined && f.since !== null);
  const latestStanding = Math.max(...standing.map((f) => f.since as number));
  let best: ActiveWindow | null = null;
  for (const f of fired) {
    if (f.since === null) continue;
    const inForce = f.window.for === undefined ? f.since === latestStanding : now < f.since + f.window.for;
    if (inForce && (!best || f.since > best.since)) best = { window: f.window, since: f.since };
  }
  return best;
}

/** The bounds in force and the schedule's verdict (null when the cloud has no schedule). */
export function scheduledBounds(
  windows: readonly ScheduleWindow[],
  base: Bounds,
  count: number,
  now: number,
): { bounds: Bounds; verdict: PolicyVerdict | null; active: ActiveWindow | null } {
  if (windows.length === 0) return { bounds: base, verdict: null, active: null };
  const active = activeWindow(windows, now);
  if (!active)
    return { bounds: base, verdict: { policy: 'schedule', desired: null, why: 'no window in force' }, active };
  const w = active.window;
  let min = w.min ?? base.min;
  let max = w.max ?? base.max;
  // A window that sets one bound wins over the cloud's other one: min 8 with instances.max 5 is 8..8.
  if (min > max) {
    if (w.min !== undefined) max = min;
    else min = max;
  }
  const desired = count < min ? min : count > max ? max : null;
  const zone = w.timezone ? ` ${w.timezone}` : ' UTC';
  const why = `window '${w.cron}'${zone} since ${new Date(active.since).toISOString()}: min ${min}, max ${max}`;
  return { bounds: { min, max }, verdict: { policy: 'schedule', desired, why }, active };
}

const crons = new Map<string, Cron>();

function lastFire(w: ScheduleWindow, now: number): number | null {
  const key = `${w.cron}|${w.timezone ?? ''}`;
  let cron = crons.get(key);
  if (!cron) {
    cron = new Cron(w.cron, { paused: true, ...(w.timezone ? { timezone: w.timezone } : {}) });
    crons.set(key, cron);
  }
  // previousRuns is strictly before its reference: one ms later counts a window firing right now.
  const prev = cron.previousRuns(1, new Date(now + 1))[0];
  return prev ? prev.getTime() : null;
}
