import { describe, expect, it } from 'vitest';
import { ruleFingerprint } from '../shared/scaling/windows.ts';
import { peer, windowsPool } from './helpers/rule-windows-pool.ts';

/**
 * Issue 13: a follower that becomes leader starts its rule windows from the previous leader's
 * last summary, and at N > 58 a follower's windows survive between summaries (every N s, longer
 * than maxMetricAge). Two real LoadExchange + Scaler nodes and report-only members on a virtual
 * clock (test/helpers/rule-windows-pool.ts).
 */
const RULE = 'load > 0.8 for 30s';

/**
 * At N = 80 (a summary every 80 s): the load rises on every member but B 24 s before a summary
 * reaches B, A crashes 25 s after the rise, B acts 1 s later. Returns the rise time and B's launches.
 */
async function crashMidWindow(wired: boolean) {
  const p = windowsPool({ n: 80, expandWhen: RULE, wired });
  p.ctx.bLoad = 0.1; // B idle: its view holds only with the others' (relayed) samples
  await p.run(10_000);
  const first = await p.untilSummary(p.b);
  await p.run(80_000 - 24_000 - 1000);
  p.ctx.load = 0.9;
  const rise = p.ctx.now + 1000; // the first step that sees it
  const next = await p.untilSummary(p.b);
  expect(next - first).toBe(80_000);
  await p.run(rise + 25_000 - p.ctx.now);
  expect(p.nodes.get(p.a)?.launches).toEqual([]); // 25 s of 30: A never acted
  p.failover();
  await p.run(40_000);
  return { rise, launches: p.nodes.get(p.b)?.launches ?? [] };
}

describe('a new leader starts its rule windows from its predecessor’s last summary', () => {
  it('(a) a window that held 25 s of 30 under A: B acts ~5 s after the crash, not 30 s', async () => {
    const { rise, launches } = await crashMidWindow(true);
    expect(launches.length).toBeGreaterThan(0);
    const after = (launches[0] as number) - rise;
    // The full window, counted from the rise (whole-second steps), never earlier.
    expect(after).toBeGreaterThanOrEqual(30_000);
    expect(after).toBeLessThanOrEqual(32_000);
  });

  it('(a) without the windows (the agent before the change) B waits a whole window after its view saw the rise', async () => {
    const { rise, launches } = await crashMidWindow(false);
    // B's own view saw the load only with the summary 24 s after the rise (and lost it at 60 s).
    expect((launches[0] as number) - rise).toBeGreaterThanOrEqual(50_000);
  });

  it('(b) at N = 80 a follower’s rule window survives between summaries (ages judged as of the summary)', async () => {
    const p = windowsPool({ n: 80, expandWhen: RULE });
    p.ctx.load = 0.9;
    p.ctx.bLoad = 0.1; // B idle: once the others' samples expire, its view no longer holds
    await p.untilSummary(p.b);
    await p.run(2000);
    const b = p.nodes.get(p.b)?.scaler;
    const since = b?.snapshot().rules.expand?.sustain.since;
    expect(since).not.toBeNull();
    // Three summary intervals: the samples are 80 s old before each next summary (maxMetricAge 60 s).
    for (let t = 0; t < 240_000; t += 1000) {
      await p.second();
      expect(b?.snapshot().rules.expand?.sustain.since).toBe(since);
    }
  });

  it('(b) without the view lag the same follower’s window restarts between summaries', async () => {
    const p = windowsPool({ n: 80, expandWhen: RULE, wired: false });
    p.ctx.load = 0.9;
    p.ctx.bLoad = 0.1;
    await p.untilSummary(p.b);
    const b = p.nodes.get(p.b)?.scaler;
    const seen = new Set<number | null | undefined>();
    for (let t = 0; t < 170_000; t += 1000) {
      await p.second();
      seen.add(b?.snapshot().rules.expand?.sustain.since);
    }
    expect(seen.has(null)).toBe(true);
  });

  it('(c) a forged or out-of-term summary cannot make the new leader act early', async () => {
    const p = windowsPool({ n: 10, expandWhen: RULE });
    await p.untilSummary(p.b);
    p.ctx.load = 0.9;
    const rise = p.ctx.now;
    await p.run(5000);
    const forged = {
      t: 'summary' as const,
      term: 1,
      rows: [],
      windows: [{ cloud: 'web', rule: 'expand' as const, heldMs: 29_000, fp: ruleFingerprint(RULE) }],
    };
    p.deliver(peer(5), p.b, forged); // not the leader B follows
    p.deliver(p.a, p.b, { ...forged, term: 7 }); // the leader, but not its term
    // A's summaries every 10 s at N = 10: B's last one, at most 10 s after the rise, is honest.
    p.failover();
    await p.run(40_000);
    const launches = p.nodes.get(p.b)?.launches ?? [];
    expect(launches.length).toBeGreaterThan(0);
    expect((launches[0] as number) - rise).toBeGreaterThanOrEqual(30_000);
  });

  it('(c) a summary older than one window counts for nothing: a late lease starts from its own view', async () => {
    const p = windowsPool({ n: 80, expandWhen: RULE });
    await p.run(10_000);
    await p.untilSummary(p.b);
    await p.run(50_000);
    p.ctx.load = 0.9;
    const rise = p.ctx.now + 1000;
    const sent = await p.untilSummary(p.b); // held ~28 s at A when sent
    p.ctx.acting = false;
    p.failover(); // B leads term 2 but gets its lease 31 s after that summary
    await p.run(20_000);
    p.ctx.load = 0.5; // one second below, seen on B's fresh reports
    await p.second();
    const dip = p.ctx.now;
    p.ctx.load = 0.9;
    await p.run(sent + 31_000 - p.ctx.now);
    p.ctx.acting = true;
    await p.run(40_000);
    const launches = p.nodes.get(p.b)?.launches ?? [];
    expect(launches.length).toBeGreaterThan(0);
    // From its own window after the dip, not from A's (which would launch at once, rise + 60 s).
    expect(launches[0]).toBeGreaterThanOrEqual(dip + 30_000);
    expect(launches[0]).toBeGreaterThan(rise + 60_000);
  });
});
