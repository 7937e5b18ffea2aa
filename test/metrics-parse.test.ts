import { describe, expect, it } from 'vitest';
import { numberAtPath, oneLine, parseLeadingNumber, parseNumber, roundMetric } from '../agent/metrics/parse.ts';

describe('parseNumber', () => {
  it('accepts a trimmed decimal number', () => {
    expect(parseNumber('42')).toBe(42);
    expect(parseNumber(' 0.73\n')).toBe(0.73);
    expect(parseNumber('-1.5e3')).toBe(-1500);
    expect(parseNumber('.5')).toBe(0.5);
  });

  it('rejects empty text, garbage and non-decimal notations', () => {
    for (const bad of ['', '  \n', 'abc', '42abc', '0x10', 'Infinity', 'NaN', '1 2', '1e999']) {
      expect(() => parseNumber(bad), bad).toThrowError(expect.objectContaining({ name: 'MetricParseError' }));
    }
  });
});

describe('parseLeadingNumber', () => {
  it('takes the first token of stdout', () => {
    expect(parseLeadingNumber('42\n')).toBe(42);
    expect(parseLeadingNumber('  7 requests/s\nmore\n')).toBe(7);
  });

  it('rejects output that does not start with a number', () => {
    expect(() => parseLeadingNumber('')).toThrow(/stdout is empty/);
    expect(() => parseLeadingNumber('load: 0.5')).toThrow(/does not start with a number: 'load: 0.5'/);
  });
});

describe('numberAtPath', () => {
  const doc = { a: { b: [{ c: 7.5 }, { c: '3.25' }], s: 'x', n: null } };

  it('walks objects and array indexes', () => {
    expect(numberAtPath(doc, 'a.b.0.c')).toBe(7.5);
    expect(numberAtPath(doc, 'a.b.1.c')).toBe(3.25);
    expect(numberAtPath([1, [2, 3]], '1.1')).toBe(3);
  });

  it('names the missing or non-numeric part of the path', () => {
    expect(() => numberAtPath(doc, 'a.x.c')).toThrow("'a.x' not found");
    expect(() => numberAtPath(doc, 'a.b.5.c')).toThrow("'a.b.5' not found");
    expect(() => numberAtPath(doc, 'a.b.first')).toThrow("'a.b.first': expected an array index");
    expect(() => numberAtPath(doc, 'a.s')).toThrow(`'a.s' is not a number: "x"`);
    expect(() => numberAtPath(doc, 'a.n')).toThrow("'a.n' is not a number: null");
    expect(() => numberAtPath(doc, 'a')).toThrow("'a' is not a number");
    expect(() => numberAtPath({}, 'toString')).toThrow("'toString' not found");
  });
});

describe('roundMetric', () => {
  it('keeps integer parts and 4 decimals, 4 significant digits below 1', () => {
    expect(roundMetric(84.61538461538461)).toBe(84.6154);
    expect(roundMetric(123456.789123)).toBe(123456.7891);
    expect(roundMetric(1234567)).toBe(1234567);
    expect(roundMetric(0.000012346)).toBe(0.00001235);
    expect(roundMetric(-0.123456)).toBe(-0.1235);
    expect(roundMetric(0)).toBe(0);
  });
});

describe('oneLine', () => {
  it('flattens and shortens', () => {
    expect(oneLine('a\n  b\tc\n')).toBe('a b c');
    expect(oneLine('x'.repeat(300), 10)).toBe(`${'x'.repeat(9)}…`);
  });
});
