import { connect } from 'node:net';
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

/** How a TCP connect to `addr` (/ip4/…/tcp/…) ends: 'connected', or the error's code. */
function tryConnect(addr: string): Promise<string> {
  const [, , host, , port] = addr.split('/');
  return new Promise((resolve) => {
    const s = connect({ host: host as string, port: Number(port) });
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

/** Every handle taken since `before` is released (closing completes on later turns: waited for, bounded). */
async function expectReleased(before: Map<string, number>): Promise<void> {
  await waitFor('every handle released', () => Object.keys(grown(before, resources())).length === 0, {
    timeoutMs: 10_000,
  }).catch(() => undefined);
  expect(grown(before, resources())).toEqual({});
}

describe('agent lifecycle: stop releases what start took', () => {
  let pool: TestPool;

  beforeAll(async () => {
    pool = await TestPool.create();
  });
  afterAll(async () => {
    await pool?.cleanup();
  });

  /** Two agents started in `pool` that see each other. */
  async function pair(x: string, y: string) {
    const a = await pool.start(x);
    const b = await pool.start(y);
    await waitFor(
      `${x} and ${y} see each other`,
      () => a.cluster().members.length === 2 && b.cluster().members.length === 2,
    );
    return [a, b] as const;
  }

  it('two agents that met, stopped, leave no timer, socket or server behind', async () => {
    const before = resources();
    const [a, b] = await pair('a', 'b');
    expect(Object.keys(grown(before, resources())).length).toBeGreaterThan(0);
    await pool.stop(b);
    await pool.stop(a, false);
    await expectReleased(before);
  });

  /**
   * agent.crash() is what the in-process benchmarks crash with: it must look to peers as a kill -9
   * does (its address refuses at once, so the refused-dial evidence applies; no leave is announced)
   * and still release everything, as stop() does, since the test or bench process goes on.
   */
  it('refuses at its address, is declared dead on refused evidence, and leaves no handle behind', async () => {
    const before = resources();
    const [a, b] = await pair('c', 'd');
    const addr = a.multiaddrs[0] as string;
    const refusedBefore = b.swimCounts?.suspectedRefused ?? 0;
    const aboutA: string[] = [];
    b.events.subscribe((e) => {
      if ('peerId' in e && e.peerId === a.peerId) aboutA.push(e.type);
    });

    await a.crash();
    expect(a.connectedPeers()).toEqual([]);
    expect(await tryConnect(addr)).toBe('ECONNREFUSED');
    await waitFor('b marks a dead', () => b.cluster().members.find((m) => m.instanceId === 'c')?.state === 'dead');
    expect(aboutA).not.toContain('member-left'); // no leave was announced
    // b's suspicion came from a refused dial (as after kill -9), not from probes timing out.
    expect((b.swimCounts?.suspectedRefused ?? 0) - refusedBefore).toBeGreaterThanOrEqual(1);

    pool.agents.splice(pool.agents.indexOf(a), 1);
    await pool.stop(b);
    await expectReleased(before);
  });
});
