import { afterEach, describe, expect, it } from 'vitest';
import { type ReadinessInput, readiness } from '../agent/monitor/readiness.ts';
import { waitFor } from './fixtures/wait.ts';
import { TestPool } from './helpers/agents.ts';

const base: ReadinessInput = {
  running: true,
  retiring: false,
  seeds: 1,
  othersAlive: 2,
  bundle: { applied: 'a'.repeat(64), target: 'a'.repeat(64), state: 'ok' },
};

describe('readiness (pure)', () => {
  it('is ready when serving, joined and the bundle it should run is applied', () => {
    const v = readiness(base);
    expect(v.ready).toBe(true);
    expect(v.checks.joined.detail).toBe('2 other members alive');
  });

  it('names the failing check', () => {
    expect(readiness({ ...base, othersAlive: 0 }).checks.joined).toEqual({
      ok: false,
      detail: 'no other member seen yet',
    });
    expect(readiness({ ...base, retiring: true }).checks.serving).toEqual({ ok: false, detail: 'retiring' });
    const applying = readiness({ ...base, bundle: { applied: null, target: 'b'.repeat(64), state: 'applying' } });
    expect(applying.ready).toBe(false);
    expect(applying.checks.bundle.detail).toBe(`applying ${'b'.repeat(12)}`);
    // A failed rollout leaves the old bundle applied, but the node does not run what it should.
    expect(
      readiness({ ...base, bundle: { applied: 'a'.repeat(64), target: 'c'.repeat(64), state: 'failed' } }).ready,
    ).toBe(false);
  });

  it('a first node with no bundle is ready alone', () => {
    const v = readiness({ ...base, seeds: 0, othersAlive: 0, bundle: { applied: null, state: 'ok' } });
    expect(v).toEqual({
      ready: true,
      checks: {
        serving: { ok: true, detail: 'serving' },
        joined: { ok: true, detail: 'first node of the pool' },
        bundle: { ok: true, detail: 'no bundle configured' },
      },
    });
  });
});

describe('GET /ready on real agents', () => {
  let pool: TestPool | undefined;
  afterEach(async () => {
    await pool?.cleanup();
    pool = undefined;
  });

  it('200 on the first node, 503 on a joiner until it sees the pool, then 200', async () => {
    pool = await TestPool.create();
    const first = await pool.start('r1');
    const res = await fetch(`${first.monitorUrl}/ready`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { ready: boolean }).ready).toBe(true);

    // A node whose only seed is not listening has not joined: it must not take traffic.
    const lonely = await pool.start('r2', {
      bootstrap: ['/ip4/127.0.0.1/tcp/1/p2p/12D3KooWGzh9qpeM5ZAUyPXE7bWUpLFVNPZrhQ4bTiwWJ3hCtjrg'],
    });
    const refused = await fetch(`${lonely.monitorUrl}/ready`);
    expect(refused.status).toBe(503);
    const body = (await refused.json()) as { ready: boolean; checks: { joined: { ok: boolean } } };
    expect(body.ready).toBe(false);
    expect(body.checks.joined.ok).toBe(false);

    const joiner = await pool.start('r3', { bootstrap: first.multiaddrs.slice(0, 1) });
    await waitFor('the joiner ready', async () => (await fetch(`${joiner.monitorUrl}/ready`)).status === 200, {
      timeoutMs: 30_000,
    });
  }, 60_000);
});
