import { describe, expect, it } from 'vitest';
import { parseTrace, TraceError } from '../shared/scaling/simulate/trace.ts';

/** Trace parsing for `poolparty simulate`: three formats, one shape, every bad line named. */

const problems = (text: string, file = 't.csv'): string => {
  try {
    parseTrace(text, file);
  } catch (err) {
    expect(err).toBeInstanceOf(TraceError);
    return (err as Error).message;
  }
  throw new Error('parsed');
};

describe('CSV', () => {
  it('reads time, metric, value and an optional member in any column order, sorted by time', () => {
    const t = parseTrace(
      [
        'member,value,time,metric',
        'b,0.5,2024-05-01T08:00:10Z,load',
        'a,0.25,2024-05-01T08:00:00Z,load',
        '"a",3,2024-05-01T08:00:10Z,queue',
      ].join('\n'),
      't.csv',
    );
    expect(t.samples).toEqual([
      { at: Date.parse('2024-05-01T08:00:00Z'), metric: 'load', value: 0.25, member: 'a' },
      { at: Date.parse('2024-05-01T08:00:10Z'), metric: 'load', value: 0.5, member: 'b' },
      { at: Date.parse('2024-05-01T08:00:10Z'), metric: 'queue', value: 3, member: 'a' },
    ]);
    expect(t.metrics).toEqual(['load', 'queue']);
    expect(t.members).toEqual(['a', 'b']);
    expect(t.end - t.start).toBe(10_000);
  });

  it('without a member column gives every member the value; unix seconds and zone offsets are times too', () => {
    const t = parseTrace('time,metric,value\n1714550400,load,1\n2024-05-01T10:00:05+02:00,load,2\n', 't.csv');
    expect(t.samples.map((s) => [s.at, s.member])).toEqual([
      [1714550400_000, null],
      [1714550405_000, null],
    ]);
    expect(t.members).toEqual([]);
  });

  it('names the file and line of every bad row, one line each', () => {
    const message = problems(
      [
        'time,metric,value',
        '2024-05-01T08:00:00Z,load,0.5',
        'yesterday,load,0.5',
        '2024-05-01T08:00:02Z,load,lots',
        '2024-05-01T08:00:03Z,lo-ad,1',
        '2024-05-01T08:00:04Z,load',
      ].join('\n'),
    );
    expect(message.split('\n')).toEqual([
      't.csv: 4 problems:',
      "  t.csv:3: bad time 'yesterday' (expected ISO 8601, e.g. 2024-05-01T08:00:00Z, or unix seconds)",
      "  t.csv:4: value 'lots' is not a number",
      "  t.csv:5: metric 'lo-ad' is not a metric name ([A-Za-z_][A-Za-z0-9_]*)",
      '  t.csv:6: 2 fields, the header has 3',
    ]);
  });

  it('a header without the needed columns is one error naming them', () => {
    expect(problems('when,metric,value\n1,load,1\n')).toBe(
      't.csv: 2 problems:\n' +
        "  t.csv:1: unknown column 'when' (expected time, metric, value and optionally member)\n" +
        '  t.csv:1: header lacks time (expected time,metric,value[,member])',
    );
    expect(problems('time,metric,value\n')).toBe('t.csv: no samples');
  });
});

describe('JSON lines', () => {
  it('reads one object per line with the same fields', () => {
    const t = parseTrace(
      '{"time":"2024-05-01T08:00:00Z","metric":"queue","value":4,"member":"i-1"}\n\n{"time":1714550410,"metric":"queue","value":"5"}\n',
      't.jsonl',
    );
    expect(t.samples.map((s) => [s.value, s.member])).toEqual([
      [4, 'i-1'],
      [5, null],
    ]);
  });

  it('names the line of each bad object', () => {
    const message = problems(
      '{"time":"2024-05-01T08:00:00Z","metric":"q","value":1}\n{"time":"x"\n[1]\n{"metric":"q","value":1}\n',
      't.jsonl',
    );
    const lines = message.split('\n');
    expect(lines[0]).toBe('t.jsonl: 3 problems:');
    expect(lines[1]).toMatch(/^ {2}t\.jsonl:2: not JSON: /);
    expect(lines.slice(2)).toEqual([
      '  t.jsonl:3: expected an object with time, metric, value (and optionally member)',
      '  t.jsonl:4: time is missing',
    ]);
  });
});

describe('Prometheus range query', () => {
  const answer = (result: unknown) => JSON.stringify({ status: 'success', data: { resultType: 'matrix', result } });

  it('takes the metric from __name__ and the member from the instance label', () => {
    const t = parseTrace(
      answer([
        {
          metric: { __name__: 'load', instance: '10.0.0.1:9100' },
          values: [
            [1714550400, '0.5'],
            [1714550415, '0.75'],
          ],
        },
        { metric: { __name__: 'load', instance: '10.0.0.2:9100' }, values: [[1714550400.5, '1']] },
      ]),
      'q.json',
    );
    expect(t.samples).toEqual([
      { at: 1714550400_000, metric: 'load', value: 0.5, member: '10.0.0.1:9100' },
      { at: 1714550400_500, metric: 'load', value: 1, member: '10.0.0.2:9100' },
      { at: 1714550415_000, metric: 'load', value: 0.75, member: '10.0.0.1:9100' },
    ]);
  });

  it("reads PoolParty's own poolparty_member_metric: the metric and member from its labels", () => {
    const t = parseTrace(
      answer([
        {
          metric: { __name__: 'poolparty_member_metric', instance: 'leader:8642', instance_id: 'i-1', metric: 'queue' },
          values: [[1714550400, '7']],
        },
      ]),
      'q.json',
    );
    expect(t.samples).toEqual([{ at: 1714550400_000, metric: 'queue', value: 7, member: 'i-1' }]);
  });

  it('names an unnamed series after the metric it is told, and without one says so', () => {
    const body = answer([{ metric: {}, values: [[1714550400, '3']] }]);
    expect(parseTrace(body, 'q.json', { metric: 'queue' }).samples[0]).toMatchObject({ metric: 'queue', member: null });
    expect(problems(body, 'q.json')).toBe(
      'q.json: data.result[0]: the series has no __name__ label: name the metric it stands for (--metric)',
    );
  });

  it('names the point that is wrong, and refuses an instant query or a failed one', () => {
    const bad = answer([
      {
        metric: { __name__: 'load' },
        values: [
          [1714550400, 'NaN!'],
          ['x', '1'],
        ],
      },
    ]);
    expect(problems(bad, 'q.json').split('\n')).toEqual([
      'q.json: 2 problems:',
      "  q.json: data.result[0].values[0]: value 'NaN!' is not a number",
      '  q.json: data.result[0].values[1]: expected [unix seconds, "value"], got ["x","1"]',
    ]);
    const instant = JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } });
    expect(problems(instant, 'q.json')).toBe(
      "q.json: data: expected resultType 'matrix' with a result array (a range query's answer)",
    );
    expect(problems(JSON.stringify({ status: 'error', data: {} }), 'q.json')).toBe(
      "q.json: status: the query failed ('error')",
    );
  });
});
