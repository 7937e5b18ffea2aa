import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DrivePlan, drive, planDrive, removeMetric, writeMetric } from '../cli/drive.ts';
import { decisionAction, eventLine } from '../cli/render.ts';
import { loadPool, parsePool } from '../shared/config/load.ts';
import type { ScalingDecision } from '../shared/wire/cluster.ts';
import { waitFor } from './fixtures/wait.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'poolparty-drive-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const pool = (scaling: object, metrics: object = { queue: { file: 'q/queue' } }) =>
  parsePool(
    { name: 'p', clouds: { a: { instances: { min: 2, max: 4 }, using: { provider: 'local' }, metrics, scaling } } },
    'p.json',
  );

describe('planDrive', () => {
  it('plans the example: queue=50 to grow to 5, 0 to shrink to 3, under the state dir', async () => {
    const plan = planDrive(await loadPool('examples/local/clouds.ts'), 'local', '/state');
    expect(plan).toEqual({ metric: 'queue', file: '/state/queue', high: 50, low: 0, min: 3, max: 5 });
  });

  it('satisfies every comparison on the driven metric', () => {
    const p = pool({ expandWhen: 'load > 2 or (queue >= 20 and max(queue) > 30)', contractWhen: 'sum(queue) <= 4' });
    expect(planDrive(p, 'a', '/s')).toMatchObject({ metric: 'queue', file: '/s/q/queue', high: 150, low: 0 });
    const negative = pool({ expandWhen: 'queue > -5', contractWhen: 'queue < -2' });
    expect(planDrive(negative, 'a', '/s')).toMatchObject({ high: 5, low: -3 });
    const noContract = pool({ expandWhen: 'queue > 1' });
    expect(planDrive(noContract, 'a', '/s')).toMatchObject({ high: 5, low: 0 });
  });

  it('refuses clouds it cannot drive', () => {
    expect(() => planDrive(pool({}), 'a', '/s')).toThrow("demo --drive: cloud 'a' has no scaling.expandWhen rule");
    expect(() => planDrive(pool({ expandWhen: 'q > 1' }, { q: { command: 'echo 1' } }), 'a', '/s')).toThrow(
      "demo --drive: the expand rule of cloud 'a' ('q > 1') reads no file metric to drive",
    );
  });
});

describe('drive', () => {
  const plan: DrivePlan = { metric: 'queue', file: '/f', high: 50, low: 0, min: 2, max: 4 };

  /** A pool that follows the metric: one instance more (or less) per count while it is high (low). */
  function fakePool(opts: { joinLag?: number; stuckAt?: number } = {}) {
    const writes: number[] = [];
    const said: string[] = [];
    let live = plan.min;
    let alive = plan.min;
    let value: number | undefined;
    return {
      writes,
      said,
      deps: (signal: AbortSignal, phaseTimeoutMs = 5000) => ({
        write: async (v: number) => {
          writes.push(v);
          value = v;
        },
        count: async () => {
          const snapshot = { live, alive };
          if (value === plan.high && live < (opts.stuckAt ?? plan.max)) live++;
          else if (value === plan.low && live > plan.min) live--;
          // New members show up as alive a count later (joinLag).
          alive = opts.joinLag ? Math.min(alive + 1, live) : live;
          return snapshot;
        },
        say: (t: string) => said.push(t),
        signal,
        pollMs: 1,
        phaseTimeoutMs,
      }),
    };
  }

  it('grows to max (alive, not just launched), then shrinks to min, saying what it does', async () => {
    const f = fakePool({ joinLag: 1 });
    expect(await drive(plan, f.deps(new AbortController().signal))).toBe('done');
    expect(f.writes).toEqual([50, 0]);
    expect(f.said).toEqual([
      'driving queue=50 (/f): expect the pool to grow to 4',
      'the pool reached 4 instances',
      'driving queue=0: expect the pool to shrink back to 2',
      'the pool is back at 2 instances (queue stays 0); following events, Ctrl-C terminates',
    ]);
  });

  it('gives up after the phase timeout and leaves the metric low', async () => {
    const f = fakePool({ stuckAt: 3 });
    expect(await drive(plan, f.deps(new AbortController().signal, 50))).toBe('gave-up');
    expect(f.writes).toEqual([50, 0]);
    expect(f.said.at(-1)).toBe('the pool did not reach 4 instances within 0s: stopped driving (queue=0)');
  });

  it('stops when aborted', async () => {
    const f = fakePool({ stuckAt: 3 });
    const stop = new AbortController();
    const run = drive(plan, f.deps(stop.signal, 60_000));
    // Aborted while it waits for the pool to grow, after it raised the metric.
    await waitFor('the metric raised', () => f.writes.length === 1);
    stop.abort();
    expect(await run).toBe('aborted');
    expect(f.writes).toEqual([50]);
  });

  it('writes the metric file whole, creating its directory, and removes it', async () => {
    const file = join(dir, 'sub', 'queue');
    await writeMetric(file, 50);
    expect(await readFile(file, 'utf8')).toBe('50\n');
    await writeMetric(file, 0);
    expect(await readFile(file, 'utf8')).toBe('0\n');
    await removeMetric(file);
    await removeMetric(file);
    await expect(readFile(file)).rejects.toThrow('ENOENT');
  });
});

describe('event lines', () => {
  const at = new Date(2026, 0, 1, 12, 34, 56).getTime();
  const d = (fields: Partial<ScalingDecision>): ScalingDecision => ({
    at,
    term: 2,
    cloud: 'web',
    action: 'none',
    count: 0,
    reason: 'r',
    instances: 3,
    ...fields,
  });

  it('names what a decision did', () => {
    expect(decisionAction(d({ action: 'expand', count: 2 }))).toBe('expand +2');
    expect(decisionAction(d({ action: 'contract', count: 1, targets: ['local-5'] }))).toBe('contract -1 (local-5)');
    expect(decisionAction(d({ action: 'replace', count: 1, targets: ['local-2'] }))).toBe('replace 1 (local-2)');
    expect(decisionAction(d({ blocked: 'at-max' }))).toBe('none (at-max)');
  });

  it('prints leadership, scaling and retiring events with instance names', () => {
    const names = new Map([['12D3KooWAAAAAAAAAAAAAAAAAAAAAA111111', 'local-1']]);
    const peer = '12D3KooWAAAAAAAAAAAAAAAAAAAAAA111111';
    expect(eventLine({ type: 'leader-elected', peerId: peer, term: 2, at, self: false }, names)).toBe(
      '12:34:56  leader-elected       local-1     12D3KooW…111111  term 2',
    );
    // The election rule that fired, when the agent names it (agents since 2026-12-06 do).
    expect(
      eventLine({ type: 'leader-elected', peerId: peer, term: 3, at, self: false, reason: 'leader-dead' }, names),
    ).toBe('12:34:56  leader-elected       local-1     12D3KooW…111111  term 3 (leader-dead)');
    expect(eventLine({ type: 'leader-stepped-down', peerId: peer, term: 2, at, reason: 'retiring' })).toBe(
      '12:34:56  leader-stepped-down  ?           12D3KooW…111111  term 2: retiring',
    );
    expect(
      eventLine({
        type: 'scaling-decision',
        ...d({ action: 'contract', count: 1, targets: ['local-5'], result: 'failed', error: 'boom', reason: 'low' }),
      }),
    ).toBe('12:34:56  scaling-decision     contract -1 (local-5) at 3 instances: low → failed: boom');
    expect(
      eventLine({ type: 'retiring', peerId: peer, instanceId: 'local-5', term: 2, at, reason: 'contract' }, names),
    ).toBe('12:34:56  retiring             local-5     12D3KooW…111111  term 2: contract');
    expect(eventLine({ type: 'member-joined', peerId: peer, instanceId: 'local-1', at })).toBe(
      '12:34:56  member-joined        local-1     12D3KooW…111111',
    );
  });
});
