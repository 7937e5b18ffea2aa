import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './fixtures/wait.ts';
import { TestPool } from './helpers/agents.ts';

/** Active handles by kind (timers, sockets, servers), as Node reports them. */
function resources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) counts.set(r, (counts.get(r) ?? 0) + 1);
  return counts;
}

function grown(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [kind, n] of after) if (n > (before.get(kind) ?? 0)) out[kind] = n - (before.get(kind) ?? 0);
  return out;
}

describe('agent lifecycle: stop releases what start took', () => {
  let pool: TestPool;

  beforeAll(async () => {
    pool = await TestPool.create();
  });
  afterAll(async () => {
    await pool?.cleanup();
  });

  it('two agents that met, stopped, leave no timer, socket or server behind', async () => {
    const before = resources();
    const a = await pool.start('a');
    const b = await pool.start('b');
    await waitFor('a and b see each other', () => a.cluster().members.length === 2 && b.cluster().members.length === 2);
    expect(Object.keys(grown(before, resources())).length).toBeGreaterThan(0);
    await pool.stop(b);
    await pool.stop(a, false);
    // Closing sockets and timers completes on later turns of the event loop: wait for it, bounded.
    await waitFor('every handle released', () => Object.keys(grown(before, resources())).length === 0, {
      timeoutMs: 10_000,
    }).catch(() => undefined);
    expect(grown(before, resources())).toEqual({});
  });
});
