import { describe, expect, it } from 'vitest';
import { aggregate, evaluateRule } from '../shared/scaling/evaluate.ts';
import { parseRule } from '../shared/scaling/rule.ts';
import { Sustain } from '../shared/scaling/sustain.ts';

describe('aggregate', () => {
  const values = [7, 1, 9, 3, 5, 10, 2, 8, 4, 6];

  it('computes avg, min, max and sum', () => {
    expect(aggregate('avg', values)).toBe(5.5);
    expect(aggregate('min', values)).toBe(1);
    expect(aggregate('max', values)).toBe(10);
    expect(aggregate('sum', values)).toBe(55);
    expect(aggregate('avg', [0.5, -1.5])).toBe(-0.5);
  });

  it('takes nearest-rank percentiles of the sorted values', () => {
    expect(aggregate('p50', values)).toBe(5);
    expect(aggregate('p90', values)).toBe(9);
    expect(aggregate('p50', [4, 1, 3, 2])).toBe(2);
    expect(aggregate('p90', [5, 1, 4, 2, 3])).toBe(5);
    expect(aggregate('p50', [42])).toBe(42);
    expect(aggregate('p90', [42])).toBe(42);
    // Twenty values: rank ceil(0.9 * 20) = 18, rank ceil(0.5 * 20) = 10.
    const twenty = Array.from({ length: 20 }, (_, i) => 20 - i);
    expect(aggregate('p90', twenty)).toBe(18);
    expect(aggregate('p50', twenty)).toBe(10);
  });

  it('does not reorder the caller’s array', () => {
    const copy = [...values];
    aggregate('p90', values);
    expect(values).toEqual(copy);
  });

  it('returns null for no values', () => {
    for (const agg of ['avg', 'min', 'max', 'sum', 'p50', 'p90'] as const) expect(aggregate(agg, [])).toBeNull();
  });
});

describe('evaluateRule', () => {
  it('aggregates over members and reports the term', () => {
    const rule = parseRule('load > 0.8 for 30s');
    expect(evaluateRule(rule, [{ load: 0.9 }, { load: 1.1 }])).toEqual({
      holds: true,
      terms: [{ text: 'avg(load) > 0.8', agg: 'avg', metric: 'load', op: '>', threshold: 0.8, value: 1, holds: true }],
    });
    expect(evaluateRule(rule, [{ load: 0.9 }, { load: 0.5 }]).holds).toBe(false);
  });

  it('skips members whose value is null or missing', () => {
    const rule = parseRule('avg(queue) >= 10');
    const result = evaluateRule(rule, [{ queue: 20 }, { queue: null }, { load: 1 }, { queue: 0 }]);
    expect(result.terms[0]?.value).toBe(10);
    expect(result.holds).toBe(true);
  });

  it('treats a comparison over no values as false, whatever the operator', () => {
    const members = [{ load: null }, {}];
    for (const text of ['load > 1', 'load < 1', 'load != 1', 'sum(load) >= 0']) {
      const result = evaluateRule(parseRule(text), members);
      expect(result.holds, text).toBe(false);
      expect(result.terms[0]?.value, text).toBeNull();
      expect(result.terms[0]?.holds, text).toBe(false);
    }
    expect(evaluateRule(parseRule('load < 1'), []).holds).toBe(false);
    // `or` still lets another term decide when one has no data.
    expect(evaluateRule(parseRule('queue > 1 or cpu > 50'), [{ cpu: 60 }]).holds).toBe(true);
  });

  it('does not read inherited properties as metrics', () => {
    expect(evaluateRule(parseRule('constructor != 0'), [{ load: 1 }]).terms[0]?.value).toBeNull();
  });

  it('compares with every operator', () => {
    const members = [{ x: 2 }];
    const expected: Record<string, boolean> = {
      'x > 2': false,
      'x >= 2': true,
      'x < 2': false,
      'x <= 2': true,
      'x == 2': true,
      'x != 2': false,
      'x > -1': true,
    };
    for (const [text, holds] of Object.entries(expected))
      expect(evaluateRule(parseRule(text), members).holds, text).toBe(holds);
  });

  it('respects precedence and reports every term even when the outcome is decided early', () => {
    const members = [
      { a: 5, b: 0, c: 0, cpu: 95 },
      { a: 1, b: 1, c: 10, cpu: 50 },
    ];
    // a > 1 holds (avg 3); b > 2 and c > 3 does not.
    const result = evaluateRule(parseRule('a > 1 or b > 2 and c > 3'), members);
    expect(result.holds).toBe(true);
    expect(result.terms.map((t) => [t.text, t.value, t.holds])).toEqual([
      ['avg(a) > 1', 3, true],
      ['avg(b) > 2', 0.5, false],
      ['avg(c) > 3', 5, true],
    ]);
    const grouped = evaluateRule(parseRule('(a > 1 or b > 2) and max(cpu) > 90 and min(cpu) > 60'), members);
    expect(grouped.holds).toBe(false);
    expect(grouped.terms.map((t) => [t.text, t.value, t.holds])).toEqual([
      ['avg(a) > 1', 3, true],
      ['avg(b) > 2', 0.5, false],
      ['max(cpu) > 90', 95, true],
      ['min(cpu) > 60', 50, false],
    ]);
  });

  it('evaluates the multi-metric example', () => {
    const rule = parseRule('queue > 100 and load > 0.5 for 10s');
    expect(evaluateRule(rule, [{ queue: 150, load: 0.7 }]).holds).toBe(true);
    expect(evaluateRule(rule, [{ queue: 150, load: 0.2 }]).holds).toBe(false);
    expect(evaluateRule(rule, [{ queue: 50, load: 0.7 }]).holds).toBe(false);
  });
});

describe('Sustain', () => {
  const T0 = 1_000_000;

  it('is satisfied once the condition has held for the whole sustain', () => {
    const s = new Sustain(30_000);
    expect(s.update(true, T0)).toEqual({ since: T0, heldForMs: 0, satisfied: false });
    for (let t = 1; t < 30; t++) expect(s.update(true, T0 + t * 1000).satisfied).toBe(false);
    expect(s.update(true, T0 + 30_000)).toEqual({ since: T0, heldForMs: 30_000, satisfied: true });
    expect(s.update(true, T0 + 45_000)).toEqual({ since: T0, heldForMs: 45_000, satisfied: true });
  });

  it('starts over after one false sample', () => {
    const s = new Sustain(30_000);
    for (let t = 0; t <= 29; t++) s.update(true, T0 + t * 1000);
    expect(s.update(false, T0 + 29_500)).toEqual({ since: null, heldForMs: 0, satisfied: false });
    expect(s.update(true, T0 + 30_000)).toEqual({ since: T0 + 30_000, heldForMs: 0, satisfied: false });
    expect(s.update(true, T0 + 59_000).satisfied).toBe(false);
    expect(s.update(true, T0 + 60_000).satisfied).toBe(true);
  });

  it('is satisfied at once with a zero sustain, but never on a false sample', () => {
    const s = new Sustain(0);
    expect(s.update(false, T0).satisfied).toBe(false);
    expect(s.update(true, T0 + 1).satisfied).toBe(true);
    expect(s.update(false, T0 + 2).satisfied).toBe(false);
  });

  it('reset forgets the run; snapshot reads without recording', () => {
    const s = new Sustain(10_000);
    s.update(true, T0);
    expect(s.snapshot(T0 + 10_000)).toEqual({ since: T0, heldForMs: 10_000, satisfied: true });
    s.reset();
    expect(s.snapshot(T0 + 10_000)).toEqual({ since: null, heldForMs: 0, satisfied: false });
    expect(s.update(true, T0 + 11_000).satisfied).toBe(false);
  });

  it('restarts the wait when the clock goes backwards instead of stalling', () => {
    const s = new Sustain(10_000);
    s.update(true, T0);
    expect(s.update(true, T0 - 60_000)).toEqual({ since: T0 - 60_000, heldForMs: 0, satisfied: false });
    expect(s.update(true, T0 - 50_000).satisfied).toBe(true);
  });

  it('rejects a negative or non-finite sustain', () => {
    expect(() => new Sustain(-1)).toThrow(RangeError);
    expect(() => new Sustain(Number.NaN)).toThrow(RangeError);
  });

  it('drives from a parsed rule', () => {
    const rule = parseRule('max(cpu) > 90 for 1m');
    const s = new Sustain(rule.sustainMs);
    const hot = [{ cpu: 95 }, { cpu: 10 }];
    let state = s.update(evaluateRule(rule, hot).holds, T0);
    for (let t = 5_000; t <= 60_000; t += 5_000) state = s.update(evaluateRule(rule, hot).holds, T0 + t);
    expect(state.satisfied).toBe(true);
    expect(s.update(evaluateRule(rule, [{ cpu: 80 }]).holds, T0 + 65_000).satisfied).toBe(false);
  });
});
