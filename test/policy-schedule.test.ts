import { describe, expect, it } from 'vitest';
import { scheduleSchema } from '../shared/config/policy-schema.ts';
import { activeWindow, scheduledBounds } from '../shared/scaling/policies/schedule.ts';

const windows = (...w: Record<string, unknown>[]) => w.map((x) => scheduleSchema.parse(x));
const t = (iso: string) => Date.parse(iso);
const base = { min: 1, max: 6 };

// Office hours in Berlin: 08:00 local is 07:00 UTC in winter, 06:00 UTC in summer.
const office = windows({ cron: '0 8 * * 1-5', timezone: 'Europe/Berlin', min: 4, max: 10, for: '10h' });

describe('scheduled capacity', () => {
  it('raises min and max while a window is in force, in its time zone', () => {
    // Monday 7 December 2026.
    expect(scheduledBounds(office, base, 2, t('2026-12-07T06:59:59Z')).bounds).toEqual(base);
    const open = scheduledBounds(office, base, 2, t('2026-12-07T07:00:00Z'));
    expect(open.bounds).toEqual({ min: 4, max: 10 });
    expect(open.verdict).toEqual({
      policy: 'schedule',
      desired: 4,
      why: "window '0 8 * * 1-5' Europe/Berlin since 2026-12-07T07:00:00.000Z: min 4, max 10",
    });
    expect(scheduledBounds(office, base, 2, t('2026-12-07T16:59:59Z')).bounds).toEqual({ min: 4, max: 10 });
    expect(scheduledBounds(office, base, 2, t('2026-12-07T17:00:00Z')).bounds).toEqual(base);
    // Summer time: the same local hour is an hour earlier in UTC.
    expect(scheduledBounds(office, base, 2, t('2026-06-15T06:00:00Z')).bounds).toEqual({ min: 4, max: 10 });
    // Saturday: no window.
    const weekend = scheduledBounds(office, base, 2, t('2026-12-05T09:00:00Z'));
    expect(weekend.bounds).toEqual(base);
    expect(weekend.verdict).toEqual({ policy: 'schedule', desired: null, why: 'no window in force' });
  });

  it('a window without for stands until another standing window fires; a for window overlays them', () => {
    const w = windows(
      { cron: '0 8 * * *', min: 3 },
      { cron: '0 20 * * *', max: 2 },
      { cron: '30 12 * * *', min: 5, for: '1h' },
    );
    expect(activeWindow(w, t('2026-12-07T09:00:00Z'))?.window.min).toBe(3);
    expect(activeWindow(w, t('2026-12-07T12:45:00Z'))?.window.min).toBe(5);
    expect(activeWindow(w, t('2026-12-07T13:30:00Z'))?.window.min).toBe(3);
    expect(activeWindow(w, t('2026-12-07T23:00:00Z'))?.window.max).toBe(2);
    expect(activeWindow(w, t('2026-12-08T07:59:00Z'))?.window.max).toBe(2);
  });

  it('lowers max (the count above it is asked down), and one bound set past the other wins', () => {
    const night = windows({ cron: '0 20 * * *', max: 2 });
    const r = scheduledBounds(night, base, 5, t('2026-12-07T21:00:00Z'));
    expect(r.bounds).toEqual({ min: 1, max: 2 });
    expect(r.verdict?.desired).toBe(2);
    expect(scheduledBounds(windows({ cron: '0 8 * * *', min: 8 }), base, 5, t('2026-12-07T09:00:00Z')).bounds).toEqual({
      min: 8,
      max: 8,
    });
    expect(
      scheduledBounds(windows({ cron: '0 8 * * *', max: 1 }), { min: 3, max: 6 }, 3, t('2026-12-07T09:00:00Z')).bounds,
    ).toEqual({ min: 1, max: 1 });
  });

  it('has no verdict when the cloud has no schedule, and no opinion while the count is within bounds', () => {
    expect(scheduledBounds([], base, 2, 0)).toEqual({ bounds: base, verdict: null, active: null });
    expect(scheduledBounds(office, base, 6, t('2026-12-07T08:00:00Z')).verdict?.desired).toBeNull();
  });
});
