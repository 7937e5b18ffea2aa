import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConvergenceError, MAX_TIMEOUTS, waitForConvergence } from '../cli/converge.ts';
import type { InstanceRecord } from '../shared/remoter/types.ts';

/**
 * Bootstrap's wait, against real monitors on loopback (one HTTP server, a path per node) whose
 * views follow a script: how many of the pool node i sees alive at a time since the start.
 */
let server: Server | undefined;

afterEach(async () => {
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
});

async function pool(n: number, sees: (node: number, sinceMs: number) => number) {
  const t0 = Date.now();
  const ids = Array.from({ length: n }, (_, i) => `local-${i + 1}`);
  server = createServer((req, res) => {
    const node = Number(/^\/n\/(\d+)\/cluster$/.exec(req.url ?? '')?.[1]);
    const count = Math.min(n, sees(node, Date.now() - t0));
    const members = ids.map((id, i) => ({ peerId: `p${i}`, instanceId: id, state: i < count ? 'alive' : 'suspect' }));
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ pool: 'p', self: `p${node}`, leader: null, members }));
  });
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const instances: InstanceRecord[] = ids.map((id, i) => ({
    id,
    state: 'running',
    launchedAt: t0,
    tags: {},
    monitor: `http://127.0.0.1:${port}/n/${i}`,
  }));
  const lines: string[] = [];
  return { instances, lines, t0, progress: (l: string) => lines.push(l), list: async () => instances };
}

describe('bootstrap waits for the pool while it converges', () => {
  it('a pool still converging when the timeout has passed is waited for', async () => {
    // Twelve nodes, each seeing one more member every 150 ms: all see all after 1.65 s, past 1 s.
    const p = await pool(12, (_node, ms) => 1 + Math.floor(ms / 150));
    const views = await waitForConvergence({ list: p.list, timeoutMs: 1000, pollMs: 50, progress: p.progress });
    expect(Date.now() - p.t0).toBeGreaterThan(1000);
    expect(views.size).toBe(12);
    // Above ten nodes the progress is one summary line, not a line per node.
    expect(p.lines.at(-1)).toBe('12/12 monitors answer, 12/12 see all 12 alive');
    expect(p.lines.some((l) => /^local-\d+: /.test(l))).toBe(false);
  });

  it('gives up after the timeout without progress, naming who lags', async () => {
    // local-1 never sees local-3.
    const p = await pool(3, (node) => (node === 0 ? 2 : 3));
    const t = Date.now();
    const err = await waitForConvergence({ list: p.list, timeoutMs: 600, pollMs: 50, progress: p.progress }).catch(
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(ConvergenceError);
    expect((err as Error).message).toMatch(/\(600ms without progress\): local-1 does not see local-3 alive$/);
    expect(Date.now() - t).toBeGreaterThanOrEqual(600);
    expect(p.lines).toContain('local-1: sees 2/3 alive');
    expect(p.lines).toContain('local-2: sees 3/3 alive');
  });

  it(`and after ${MAX_TIMEOUTS} timeouts in all, however it progresses`, async () => {
    // Forty nodes gaining a member every 100 ms need 3.9 s; ten timeouts of 300 ms end it first.
    const p = await pool(40, (_node, ms) => 1 + Math.floor(ms / 100));
    const err = await waitForConvergence({ list: p.list, timeoutMs: 300, pollMs: 50, progress: p.progress }).catch(
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(ConvergenceError);
    const message = (err as Error).message;
    expect(message).not.toContain('without progress');
    // A large pool's reason is counts and a few names, not forty lists of members.
    expect(message).toMatch(/\(300ms\): 40 nodes do not see every node alive: local-1 \(\d+\/40\), .* and 35 more$/);
  });
});
