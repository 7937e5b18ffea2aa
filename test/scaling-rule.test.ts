import { describe, expect, it } from 'vitest';
import { type Comparison, parseRule, type Rule, type RuleExpr, RuleSyntaxError } from '../shared/scaling/rule.ts';
import { formatRule } from '../shared/scaling/rule-format.ts';
import { seededRandom } from '../shared/seeded-random.ts';

const cmp = (metric: string, op: Comparison['op'], value: number, agg: Comparison['agg'] = 'avg'): Comparison => ({
  kind: 'cmp',
  agg,
  metric,
  op,
  value,
});
const and = (left: RuleExpr, right: RuleExpr): RuleExpr => ({ kind: 'and', left, right });
const or = (left: RuleExpr, right: RuleExpr): RuleExpr => ({ kind: 'or', left, right });
const shape = (r: Rule) => ({ expr: r.expr, sustainMs: r.sustainMs, metrics: r.metrics });

describe('parseRule: documented examples', () => {
  it('parses a default-average comparison with a sustain', () => {
    const rule = parseRule('load > 0.8 for 30s');
    expect(rule).toEqual({
      text: 'load > 0.8 for 30s',
      expr: cmp('load', '>', 0.8),
      sustainMs: 30_000,
      metrics: ['load'],
    });
  });

  it('parses an explicit aggregate and minutes', () => {
    expect(shape(parseRule('max(cpu) > 90 for 1m'))).toEqual({
      expr: cmp('cpu', '>', 90, 'max'),
      sustainMs: 60_000,
      metrics: ['cpu'],
    });
  });

  it('parses a conjunction over a custom metric', () => {
    expect(shape(parseRule('queue > 100 and load > 0.5 for 10s'))).toEqual({
      expr: and(cmp('queue', '>', 100), cmp('load', '>', 0.5)),
      sustainMs: 10_000,
      metrics: ['queue', 'load'],
    });
  });

  it('parses the contract example and the absent sustain as 0', () => {
    expect(parseRule('load < 0.2 for 2m').sustainMs).toBe(120_000);
    expect(parseRule('load < 0.2').sustainMs).toBe(0);
    expect(parseRule('load < 0.2 for 500ms').sustainMs).toBe(500);
    expect(parseRule('load < 0.2 for 1h').sustainMs).toBe(3_600_000);
  });

  it('accepts every aggregate, every operator, negatives and decimals', () => {
    for (const agg of ['avg', 'min', 'max', 'sum', 'p50', 'p90', 'p99', 'permember'] as const) {
      expect(parseRule(`${agg}(mem) >= 1`).expr).toEqual(cmp('mem', '>=', 1, agg));
    }
    for (const op of ['>', '>=', '<', '<=', '==', '!='] as const) {
      expect(parseRule(`cpu ${op} -2.25`).expr).toEqual(cmp('cpu', op, -2.25));
    }
    expect(parseRule('cpu > - 3').expr).toEqual(cmp('cpu', '>', -3));
    expect(Object.is((parseRule('cpu > -0').expr as Comparison).value, 0)).toBe(true);
  });

  it('ignores whitespace and the case of keywords, but not of metric names', () => {
    expect(shape(parseRule('MAX( cpu )>=90 AND load<1'))).toEqual(shape(parseRule('max(cpu) >= 90 and load < 1')));
    expect(shape(parseRule('\tload>0.8\n  FOR 30 S '))).toEqual(shape(parseRule('load > 0.8 for 30s')));
    expect(parseRule('a > 1 Or b > 2').expr.kind).toBe('or');
    expect(parseRule('Load > 1').metrics).toEqual(['Load']);
  });

  it('allows metrics named like aggregates or starting with keywords', () => {
    expect(parseRule('max > 1 and forward < 2 and order == 3 and andy != 4').metrics).toEqual([
      'max',
      'forward',
      'order',
      'andy',
    ]);
  });

  it('lists each referenced metric once, in order of first appearance', () => {
    expect(parseRule('max(cpu) > 90 or min(cpu) > 50 and load > 1 or p90(queue) > 3').metrics).toEqual([
      'cpu',
      'load',
      'queue',
    ]);
  });

  it('accepts known metrics when a list is given', () => {
    expect(parseRule('max(queue) > 1', ['load', 'cpu', 'mem', 'queue']).metrics).toEqual(['queue']);
  });
});

describe('parseRule: precedence and grouping', () => {
  it('binds and tighter than or', () => {
    expect(parseRule('a > 1 or b > 2 and c > 3').expr).toEqual(
      or(cmp('a', '>', 1), and(cmp('b', '>', 2), cmp('c', '>', 3))),
    );
    expect(parseRule('a > 1 and b > 2 or c > 3').expr).toEqual(
      or(and(cmp('a', '>', 1), cmp('b', '>', 2)), cmp('c', '>', 3)),
    );
  });

  it('associates to the left', () => {
    expect(parseRule('a > 1 and b > 2 and c > 3').expr).toEqual(
      and(and(cmp('a', '>', 1), cmp('b', '>', 2)), cmp('c', '>', 3)),
    );
  });

  it('lets parentheses override precedence', () => {
    expect(parseRule('(a > 1 or b > 2) and c > 3').expr).toEqual(
      and(or(cmp('a', '>', 1), cmp('b', '>', 2)), cmp('c', '>', 3)),
    );
    expect(parseRule('a > 1 and (b > 2 and c > 3)').expr).toEqual(
      and(cmp('a', '>', 1), and(cmp('b', '>', 2), cmp('c', '>', 3))),
    );
    expect(parseRule('((((load > 1))))').expr).toEqual(cmp('load', '>', 1));
  });
});

describe('parseRule: errors', () => {
  const KNOWN = ['load', 'cpu', 'mem', 'queue'];
  const OPS = 'expected a comparison operator (>, >=, <, <=, ==, !=)';
  const METRIC = "expected a metric (e.g. load, max(cpu)) or '('";
  const cases: Array<[text: string, message: string, token: string, position: number, known?: string[]]> = [
    ['', 'empty rule', '', 1],
    ['   \t', 'empty rule', '', 1],
    ['load foo 1', `unexpected 'foo' at column 6: ${OPS}`, 'foo', 6],
    ['max(cpu) foo 90', `unexpected 'foo' at column 10: ${OPS}`, 'foo', 10],
    ['load = 1', `unexpected '=' at column 6: ${OPS}`, '=', 6],
    [
      'mean(load) > 1',
      "unknown aggregate 'mean' at column 1: expected avg, min, max, sum, p50, p90, p99, permember",
      'mean',
      1,
    ],
    [
      'load > 1 or count(x) > 1',
      "unknown aggregate 'count' at column 13: expected avg, min, max, sum, p50, p90, p99, permember",
      'count',
      13,
    ],
    ['laod > 0.8', "unknown metric 'laod' at column 1 (known: load, cpu, mem, queue)", 'laod', 1, KNOWN],
    ['max(Cpu) > 90', "unknown metric 'Cpu' at column 5 (known: load, cpu, mem, queue)", 'Cpu', 5, KNOWN],
    ['load > 0.8 for 30x', "bad duration '30x' at column 16: expected e.g. 500ms, 30s, 2m, 1h", '30x', 16],
    ['load > 0.8 for -5s', "bad duration '-5s' at column 16: expected e.g. 500ms, 30s, 2m, 1h", '-5s', 16],
    ['load > 0.8 for 30', "bad duration '30' at column 16: expected e.g. 500ms, 30s, 2m, 1h", '30', 16],
    ['load > 0.8 for', 'unexpected end of rule at column 15: expected a duration (e.g. 500ms, 30s, 2m, 1h)', '', 15],
    [
      'load > 0.8 for ever',
      "unexpected 'ever' at column 16: expected a duration (e.g. 500ms, 30s, 2m, 1h)",
      'ever',
      16,
    ],
    ['load > 1 for 30s garbage', "unexpected 'garbage' at column 18: expected end of rule", 'garbage', 18],
    ['load > 1 x', "unexpected 'x' at column 10: expected 'and', 'or', 'for' or end of rule", 'x', 10],
    ['load > 1)', "unexpected ')' at column 9: expected 'and', 'or', 'for' or end of rule", ')', 9],
    ['load > 1 & cpu > 2', "unexpected '&' at column 10: expected 'and', 'or', 'for' or end of rule", '&', 10],
    ['(load > 1', "unexpected end of rule at column 10: expected 'and', 'or' or ')'", '', 10],
    ['load >', 'unexpected end of rule at column 7: expected a number', '', 7],
    ['load > cpu', "unexpected 'cpu' at column 8: expected a number", 'cpu', 8],
    ['load > 0.8x', "bad number '0.8x' at column 8: expected e.g. 90, 0.8, -1.5", '0.8x', 8],
    ['load > 1.2.3', "bad number '1.2.3' at column 8: expected e.g. 90, 0.8, -1.5", '1.2.3', 8],
    ['load > 1 and', `unexpected end of rule at column 13: ${METRIC}`, '', 13],
    ['load > 1 or or cpu > 1', `unexpected 'or' at column 13: ${METRIC}`, 'or', 13],
    ['AND > 1', `unexpected 'AND' at column 1: ${METRIC}`, 'AND', 1],
    ['> 1', `unexpected '>' at column 1: ${METRIC}`, '>', 1],
    ['max() > 1', "unexpected ')' at column 5: expected a metric name", ')', 5],
    ['max(cpu > 1', "unexpected '>' at column 9: expected ')'", '>', 9],
    [`${'('.repeat(40)}a > 1${')'.repeat(40)}`, "too many nested '(' at column 33: at most 32", '(', 33],
  ];

  for (const [text, message, token, position, known] of cases) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      let caught: unknown;
      try {
        parseRule(text, known);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(RuleSyntaxError);
      const err = caught as RuleSyntaxError;
      expect(err.name).toBe('RuleSyntaxError');
      expect(err.message).toBe(message);
      expect(err.message).not.toContain('\n');
      expect(err.token).toBe(token);
      expect(err.position).toBe(position);
    });
  }

  it('rejects a number too large to represent', () => {
    expect(() => parseRule(`load > 1${'0'.repeat(400)}`)).toThrow(/^bad number '10+' at column 8/);
  });
});

describe('formatRule', () => {
  it('writes the canonical text', () => {
    expect(formatRule(parseRule('load > 0.8 for 30s'))).toBe('avg(load) > 0.8 for 30s');
    expect(formatRule(parseRule('MAX(cpu)>=90 AND (a<1 OR b!=-2) FOR 90s'))).toBe(
      'max(cpu) >= 90 and (avg(a) < 1 or avg(b) != -2) for 90s',
    );
    expect(formatRule(parseRule('((a > 1) or (b > 2 and c > 3))'))).toBe('avg(a) > 1 or avg(b) > 2 and avg(c) > 3');
    expect(formatRule(parseRule('a > 1 or (b > 2 or c > 3)'))).toBe('avg(a) > 1 or (avg(b) > 2 or avg(c) > 3)');
    expect(formatRule(parseRule('a > 1 for 1.5s'))).toBe('avg(a) > 1 for 1500ms');
    expect(formatRule(parseRule('a > 1 for 120m'))).toBe('avg(a) > 1 for 2h');
    expect(formatRule(parseRule('a > 1 for 0s'))).toBe('avg(a) > 1');
  });

  it('writes numbers without exponents so they parse back', () => {
    expect(formatRule(parseRule('a > 1000000000000000000000'))).toBe('avg(a) > 1000000000000000000000');
    expect(formatRule(parseRule('a < -0.00000015'))).toBe('avg(a) < -0.00000015');
  });

  it('is stable: formatting a parsed canonical text gives it back', () => {
    for (const text of [
      'load > 0.8 for 30s',
      'max(cpu) > 90 for 1m',
      'queue > 100 and load > 0.5 for 10s',
      'load < 0.2 for 2m',
      'a > 1 or b > 2 and c > 3',
      '(a > 1 or b > 2) and (c > 3 or d > 4) for 500ms',
    ]) {
      const once = formatRule(parseRule(text));
      expect(formatRule(parseRule(once))).toBe(once);
      expect(shape(parseRule(once))).toEqual(shape(parseRule(text)));
    }
  });
});

// Property: random ASTs, written with random spacing, case, optional `avg` and redundant
// parentheses, parse back to the same tree; and format → parse is the identity on trees.
describe('round-trip property', () => {
  const rand = seededRandom(0x5ca1e);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const chance = (p: number) => rand() < p;
  const space = () => pick(['', ' ', '  ', '\t']);
  const gap = () => pick([' ', '  ', '\n ']); // between words: required
  const randCase = (word: string) => [...word].map((c) => (chance(0.3) ? c.toUpperCase() : c)).join('');

  const METRICS = ['load', 'cpu', 'mem', 'queue', 'Load', 'avg', 'p90', 'x_1', '_q', 'forward', 'order', 'andy'];
  const AGGS = ['avg', 'min', 'max', 'sum', 'p50', 'p90'] as const;
  const OPS = ['>', '>=', '<', '<=', '==', '!='] as const;

  function genCmp(): { node: Comparison; text: string } {
    const agg = pick(AGGS);
    const metric = pick(METRICS);
    const op = pick(OPS);
    let num = String(Math.floor(rand() * 1000));
    if (chance(0.5)) num += `.${Math.floor(rand() * 1000)}`;
    if (chance(0.3)) num = `-${num}`;
    const value = Number(num) === 0 ? 0 : Number(num);
    const lhs = agg === 'avg' && chance(0.5) ? metric : `${randCase(agg)}${space()}(${space()}${metric}${space()})`;
    return { node: cmp(metric, op, value, agg), text: `${lhs}${space()}${op}${space()}${num}` };
  }

  function genExpr(depth: number): { node: RuleExpr; text: string } {
    if (depth === 0 || chance(0.3)) return genCmp();
    const kind = chance(0.5) ? 'and' : 'or';
    const left = genExpr(depth - 1);
    const right = genExpr(depth - 1);
    const wrap = (child: { node: RuleExpr; text: string }, isRight: boolean) => {
      const needed =
        child.node.kind !== 'cmp' &&
        ((kind === 'and' && child.node.kind === 'or') || (isRight && child.node.kind === kind));
      return needed || chance(0.15) ? `(${space()}${child.text}${space()})` : child.text;
    };
    return {
      node: { kind, left: left.node, right: right.node },
      text: `${wrap(left, false)}${gap()}${randCase(kind)}${gap()}${wrap(right, true)}`,
    };
  }

  function genSustain(): { ms: number; text: string } {
    if (chance(0.3)) return { ms: 0, text: '' };
    const [unit, size] = pick([
      ['ms', 1],
      ['s', 1000],
      ['m', 60_000],
      ['h', 3_600_000],
    ] as const);
    const n = chance(0.8) ? Math.floor(rand() * 120) : Math.floor(rand() * 100) / 10;
    const ms = Math.round(n * size);
    return { ms, text: `${gap()}${randCase('for')}${gap()}${n}${chance(0.2) ? ' ' : ''}${unit}` };
  }

  function metricsOf(expr: RuleExpr, into: string[] = []): string[] {
    if (expr.kind === 'cmp') {
      if (!into.includes(expr.metric)) into.push(expr.metric);
    } else {
      metricsOf(expr.left, into);
      metricsOf(expr.right, into);
    }
    return into;
  }

  it('parses generated rules to the generating tree and survives format → parse', () => {
    for (let i = 0; i < 500; i++) {
      const expr = genExpr(4);
      const sustain = genSustain();
      const text = `${space()}${expr.text}${sustain.text}${space()}`;
      const parsed = parseRule(text);
      expect(shape(parsed), text).toEqual({ expr: expr.node, sustainMs: sustain.ms, metrics: metricsOf(expr.node) });
      const canonical = formatRule(parsed);
      expect(shape(parseRule(canonical)), canonical).toEqual(shape(parsed));
      expect(formatRule(parseRule(canonical))).toBe(canonical);
    }
  });
});
