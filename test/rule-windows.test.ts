import { encode } from 'cborg';
import { describe, expect, it } from 'vitest';
import { LoadExchange } from '../agent/load/exchange.ts';
import { summaryFrames } from '../agent/load/summary.ts';
import { stepMembers } from '../agent/scaler/members.ts';
import { inheritTimers, type RuleWindow, ruleFingerprint, ruleWindows } from '../shared/scaling/windows.ts';
import type { MemberView } from '../shared/wire/cluster.ts';
import { decodeFrame, frameToWire, type ProbeFrame } from '../shared/wire/probe.ts';

const P = (i: number) => `12D3KooW${String(i).padStart(44, 'x')}`;
const texts = { expandWhen: 'load > 0.8 for 30s', contractWhen: 'load < 0.2 for 2m' };
const fp = ruleFingerprint(texts.expandWhen);
const win = (over: Partial<RuleWindow> = {}): RuleWindow => ({
  cloud: 'web',
  rule: 'expand',
  heldMs: 25_000,
  fp,
  ...over,
});

describe('rule windows in the summary frame', () => {
  it('round-trip, in every frame of a split summary, beside the rows and the unbound list', () => {
    const windows = [win(), win({ rule: 'contract', heldMs: null, fp: ruleFingerprint(texts.contractWhen) })];
    const rows = Array.from({ length: 600 }, (_, i) => ({ peerId: P(i), ageMs: i, metrics: { load: 0.5 } }));
    const frames = summaryFrames(3, rows, 8000, [P(9)], windows);
    expect(frames.length).toBeGreaterThan(1);
    for (const f of frames) {
      const bytes = encode(frameToWire(f));
      expect(bytes.byteLength).toBeLessThanOrEqual(8000 + 256);
      expect(decodeFrame(bytes)).toEqual(f);
      expect(f.windows).toEqual(windows);
    }
    expect(frames.flatMap((f) => f.unbound ?? [])).toEqual([P(9)]);
  });

  it('(d) an older summary (no windows, with or without unbound) still decodes, without windows', () => {
    const old = decodeFrame(encode([6, 4, ['load', '', P(7)], [P(1), 5, 0, 0.9]]));
    expect(old).toEqual({
      t: 'summary',
      term: 4,
      rows: [{ peerId: P(1), ageMs: 5, metrics: { load: 0.9 } }],
      unbound: [P(7)],
    });
    expect(decodeFrame(encode([6, 4, ['load'], [P(1), 5, 0, 0.9]]))).not.toHaveProperty('windows');
  });

  it('(d) sit where an agent before them reads unused metric names: before the unbound mark, after every name a row uses', () => {
    const f: ProbeFrame = {
      t: 'summary',
      term: 2,
      rows: [{ peerId: P(1), ageMs: 0, metrics: { load: 1, cpu: 2 } }],
      unbound: [P(3)],
      windows: [win()],
    };
    const [, , table, row] = frameToWire(f) as [number, number, string[], unknown[]];
    expect(table).toEqual(['load', 'cpu', `#web expand 25000 ${fp}`, '', P(3)]);
    expect(row).toEqual([P(1), 0, 0, 1, 1, 2]);
  });

  it('a # entry of another format is skipped; a row naming one, or too many, refuses the frame', () => {
    const odd = decodeFrame(encode([6, 1, ['load', '#web expand soon', '#x'], [P(1), 0, 0, 1]]));
    expect(odd).toEqual({ t: 'summary', term: 1, rows: [{ peerId: P(1), ageMs: 0, metrics: { load: 1 } }] });
    expect(typeof decodeFrame(encode([6, 1, [`#web expand 1 ${fp}`], [P(1), 0, 0, 1]]))).toBe('string');
    const many = Array.from({ length: 129 }, () => `#web expand 1 ${fp}`);
    expect(decodeFrame(encode([6, 1, many]))).toMatch(/more than 128 rule windows/);
  });
});

describe('inheritTimers: bounded by what the last summary said', () => {
  const own = { expand: 990_000, contract: null };
  const at = 1_000_000;
  const last = (windows: RuleWindow[]) => ({ at, windows });

  it('starts each rule from the summary’s arrival minus what it said; a rule that did not hold starts over', () => {
    const t = inheritTimers(own, 'web', texts, last([win({ heldMs: 25_000 })]), at + 2000);
    expect(t).toEqual({ expand: at - 25_000, contract: null });
    const cfp = ruleFingerprint(texts.contractWhen);
    const t2 = inheritTimers(own, 'web', texts, last([win({ heldMs: null }), win({ rule: 'contract', fp: cfp })]), at);
    expect(t2).toEqual({ expand: null, contract: at - 25_000 });
  });

  it('counts for nothing when older than one window, from the future, of another rule text or cloud', () => {
    expect(inheritTimers(own, 'web', texts, last([win()]), at + 30_001)).toEqual(own);
    expect(inheritTimers(own, 'web', texts, last([win()]), at - 1)).toBe(own);
    expect(inheritTimers(own, 'web', texts, last([win({ fp: ruleFingerprint('load > 0.9 for 30s') })]), at)).toEqual(
      own,
    );
    expect(inheritTimers(own, 'web', texts, last([win({ cloud: 'db' })]), at)).toEqual(own);
    expect(inheritTimers(own, 'web', texts, null, at)).toBe(own);
  });

  it('the fingerprint is the rule’s, not its spacing; the leader claims no time past its last step', () => {
    expect(ruleFingerprint('load>0.8   for 30s')).toBe(fp);
    expect(ruleWindows('web', texts, { expand: 100, contract: null }, 5100)).toEqual([
      { cloud: 'web', rule: 'expand', heldMs: 5000, fp },
      { cloud: 'web', rule: 'contract', heldMs: null, fp: ruleFingerprint(texts.contractWhen) },
    ]);
  });
});

describe('LoadExchange keeps the windows of the leader it follows, in its term', () => {
  function follower() {
    const c = { now: 50_000, leader: { peerId: P(0), term: 3 } };
    const ex = new LoadExchange({
      self: () => P(1),
      now: () => c.now,
      loadInterval: 2000,
      leader: () => c.leader,
      metrics: () => ({}),
      send: async () => undefined,
      memberIds: () => [P(0), P(2)],
      maxMembers: 10,
    });
    return { c, ex };
  }
  const frame = (term: number): ProbeFrame => ({ t: 'summary', term, rows: [], windows: [win()] });

  it('(c) not from another peer or another term; from its leader, with when it came', () => {
    const { c, ex } = follower();
    ex.onReport(P(2), frame(3));
    ex.onReport(P(0), frame(4));
    expect(ex.leaderWindows()).toBeNull();
    ex.onReport(P(0), frame(3));
    expect(ex.leaderWindows()).toEqual({ at: c.now, windows: [win()] });
    ex.onReport(P(0), { t: 'summary', term: 3, rows: [] }); // a leader without rules: nothing to carry
    expect(ex.leaderWindows()?.windows).toEqual([]);
  });

  it('viewLag: the time since its leader’s summary while the next is due (2 intervals), else 0', () => {
    const { c, ex } = follower();
    expect(ex.viewLag()).toBe(0);
    ex.onReport(P(0), frame(3));
    c.now += 9000;
    expect(ex.viewLag()).toBe(9000);
    c.now += 2000; // 11 s: more than 2 x 5 s
    expect(ex.viewLag()).toBe(0);
    c.now -= 2000;
    c.leader = { peerId: P(1), term: 4 }; // leading itself
    expect(ex.viewLag()).toBe(0);
  });

  it('stepMembers judges a relayed sample’s age as of the summary', () => {
    const m = { instanceId: 'i', state: 'alive', startedAt: 0, metrics: { load: 1 }, metricsAgeMs: 70_000 };
    const [lagged] = stepMembers([m as unknown as MemberView], 1_000_000, 68_000);
    expect(lagged?.metrics.load?.at).toBe(1_000_000 - 2000);
    const [plain] = stepMembers([m as unknown as MemberView], 1_000_000);
    expect(plain?.metrics.load?.at).toBe(1_000_000 - 70_000);
  });
});
