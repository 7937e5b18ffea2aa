import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from './fixtures/sshd.ts';
import { waitFor } from './fixtures/wait.ts';
import { TestPool } from './helpers/agents.ts';

/**
 * Islands: agents that joined through one another while their other seeds were not up yet. They
 * must become one pool once a join round reaches a seed of the other island: the joiner learns
 * that island from the pull, and that island learns the joiner's from its announcement and the
 * anti-entropy that follows (a 50-agent start formed such islands: BENCHMARKS.md).
 */

describe('islands of a join (real agents in one process)', () => {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('two islands merge once a late seed answers a join round: every agent sees all four', async () => {
    const pool = await TestPool.create();
    cleanups.push(() => pool.cleanup());
    // c's address is known before c exists: a's join round finds nobody there, so a and b form
    // one island, c and d another; a's later join round reaches c, and both sides must merge,
    // not only a learn about c and d.
    const port = await freePort('127.0.0.1');
    const a = await pool.start('a', { bootstrap: [`/ip4/127.0.0.1/tcp/${port}`] });
    const b = await pool.start('b', { bootstrap: [a.multiaddrs[0] as string] });
    const ids = (x: { cluster(): { members: { instanceId: string; state: string }[] } }) =>
      x
        .cluster()
        .members.filter((m) => m.state === 'alive')
        .map((m) => m.instanceId)
        .sort();
    await waitFor('a and b see each other', () => ids(a).join() === 'a,b' && ids(b).join() === 'a,b', {
      timeoutMs: 20_000,
    });
    const c = await pool.start('c', { bootstrap: [], listen: [`/ip4/127.0.0.1/tcp/${port}`] });
    expect(ids(c)).toEqual(['c']);
    const d = await pool.start('d', { bootstrap: [c.multiaddrs[0] as string] });
    await waitFor('all four see all four', () => [a, b, c, d].every((x) => ids(x).join() === 'a,b,c,d'), {
      timeoutMs: 90_000,
    });
  }, 120_000);
});
