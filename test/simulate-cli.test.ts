import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimulateResult } from '../cli/commands/simulate.ts';
import { runCli } from './fixtures/run-cli.ts';

/** `poolparty simulate` through the built CLI, on the example pool and traces of examples/traces/. */

const CLI = resolve('bin/poolparty.mjs');
const POOL = 'examples/traces/clouds.ts';
const SPIKE = 'examples/traces/spike.csv';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'poolparty-simulate-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const simulate = (...args: string[]) => runCli([CLI, 'simulate', ...args], { PATH: process.env.PATH, HOME: dir });

describe('poolparty simulate', () => {
  it('prints every decision with its reason, the timeline and the totals', async () => {
    const res = await simulate('-c', POOL, '--trace', SPIKE);
    expect(res.code, res.stderr).toBe(0);
    const lines = res.stdout.split('\n');
    expect(lines[0]).toBe(
      `simulate web on ${SPIKE}: 2024-05-06 12:00:00 to 2024-05-06 12:40:00 UTC (40m0s, 481 evaluations every 5.0s)`,
    );
    expect(lines).toContain('TIME      ACTION           COUNT  INSTANCES  POLICY        REASON');
    expect(
      lines.some((l) => /^12:\d\d:\d\d {2}expand {11}1 {6}2 {10}expandWhen {4}expand rule held for 120s$/.test(l)),
    ).toBe(true);
    expect(lines.some((l) => /^12:\d\d:\d\d {2}none \(cooldown\)/.test(l))).toBe(true);
    expect(lines.find((l) => l.startsWith('instances over time: 12:00:00 2, '))).toBeDefined();
    expect(lines.find((l) => /^instance-hours: \d+(\.\d+)?$/.test(l))).toBeDefined();
  });

  it('--json carries the decisions, timeline and summary; --svg writes a well-formed chart', async () => {
    const svg = join(dir, 'spike.svg');
    const res = await simulate('-c', POOL, '--trace', SPIKE, '--max-per-step', '1', '--json', '--svg', svg);
    expect(res.code, res.stderr).toBe(0);
    const data = JSON.parse(res.stdout) as SimulateResult;
    expect(data.model).toEqual({
      load: 'replay',
      launchTimeMs: 90_000,
      applyTimeMs: 30_000,
      maxPerStep: 1,
      failureRate: 0,
      seed: 1,
    });
    expect(data.trace).toMatchObject({ file: SPIKE, metrics: ['load'], members: [] });
    const expands = data.result.decisions.filter((d) => d.action === 'expand');
    expect(expands.length).toBe(data.result.summary.expands);
    expect(expands.every((d) => d.count === 1 && d.reason.length > 0 && d.policies.length > 0)).toBe(true);
    expect(data.result.timeline[0]).toEqual({ at: data.trace.start, instances: 2, ready: 2 });
    expect(res.stderr).toContain(`chart written to ${svg}`);

    const chart = await readFile(svg, 'utf8');
    expect(XMLValidator.validate(chart)).toBe(true);
    for (const label of ['load per trace member', 'what the scaler sees', 'instances', 'expand: avg(load) &gt; 0.7']) {
      expect(chart).toContain(label);
    }
    // One marker per action, each with its reason as a tooltip.
    const actions = data.result.decisions.filter((d) => d.action !== 'none');
    expect(chart.match(/<title>/g)?.length).toBe(actions.length);
  });

  it('--against lists the actions that differ and the totals of both', async () => {
    const res = await simulate('-c', POOL, '--trace', SPIKE, '--against', 'examples/traces/clouds-eager.ts', '--json');
    expect(res.code, res.stderr).toBe(0);
    const data = JSON.parse(res.stdout) as SimulateResult;
    const c = data.against!.comparison;
    expect(c.delta.instanceHours).toBeCloseTo(c.other.instanceHours - c.base.instanceHours, 3);
    expect(c.differences.length).toBeGreaterThan(0);
    expect(c.differences.some((d) => d.side === 'other' && d.action === 'expand' && d.count === 2)).toBe(true);
    const text = await simulate('-c', POOL, '--trace', SPIKE, '--against', 'examples/traces/clouds-eager.ts');
    expect(text.stdout).toMatch(
      /compared with examples\/traces\/clouds-eager\.ts: \d+ action\(s\) the same, \d+ different/,
    );
    expect(text.stdout).toMatch(/^instance-hours +[\d.]+ +[\d.]+ +\+[\d.]+$/m);
  });

  it('reads a Prometheus range answer, naming unnamed series after the metric the rules read', async () => {
    const file = join(dir, 'prom.json');
    const start = Date.parse('2024-05-06T12:00:00Z') / 1000;
    const values = Array.from({ length: 40 }, (_, i) => [start + i * 15, i >= 10 && i < 30 ? '0.95' : '0.2']);
    await writeFile(
      file,
      JSON.stringify({
        status: 'success',
        data: { resultType: 'matrix', result: [{ metric: { instance: 'a:9100' }, values }] },
      }),
    );
    const res = await simulate('-c', POOL, '--trace', file, '--json');
    expect(res.code, res.stderr).toBe(0);
    const data = JSON.parse(res.stdout) as SimulateResult;
    expect(data.trace).toMatchObject({ metrics: ['load'], members: ['a:9100'] });
    expect(data.result.summary.expands).toBeGreaterThan(0);
  });

  it('bad input is exit 2 with one line per problem, naming the file and line', async () => {
    const file = join(dir, 'bad.csv');
    await writeFile(
      file,
      'time,metric,value\n2024-05-06T12:00:00Z,load,0.5\nnoon,load,1\n2024-05-06T12:00:10Z,load,\n',
    );
    const bad = await simulate('-c', POOL, '--trace', file);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toEqual([
      `poolparty: ${file}: 2 problems:`,
      `  ${file}:3: bad time 'noon' (expected ISO 8601, e.g. 2024-05-01T08:00:00Z, or unix seconds)`,
      `  ${file}:4: value is missing`,
    ]);
    const cases: [string[], string][] = [
      [['-c', POOL], 'poolparty: simulate: --trace is required'],
      [
        ['-c', POOL, '--trace', join(dir, 'none.csv')],
        `poolparty: simulate: --trace ${join(dir, 'none.csv')}: file not found`,
      ],
      [
        ['-c', POOL, '--trace', SPIKE, '--launch-time', 'soon'],
        "poolparty: simulate: --launch-time 'soon' is not a duration (e.g. 30s, 2m)",
      ],
      [
        ['-c', POOL, '--trace', SPIKE, '--max-per-step', '0'],
        "poolparty: simulate: --max-per-step '0' is not a whole number of at least 1",
      ],
      [
        ['-c', POOL, '--trace', SPIKE, '--load', 'elastic'],
        "poolparty: simulate: --load 'elastic' is not a load model (replay or spread)",
      ],
    ];
    for (const [args, message] of cases) {
      const res = await simulate(...args);
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr.trim()).toBe(message);
    }
  });

  it('has --help like every command', async () => {
    const res = await simulate('--help');
    expect(res.code).toBe(0);
    for (const flag of [
      '--trace FILE',
      '--launch-time DURATION',
      '--max-per-step N',
      '--against FILE',
      '--svg FILE',
      '--json',
    ]) {
      expect(res.stdout).toContain(flag);
    }
  });
});
