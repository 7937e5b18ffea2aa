import { readFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPool, type PoolContext } from '../../cli/context.ts';
import { fencePool } from '../../cli/fence.ts';
import { parsePool } from '../../shared/config/load.ts';
import type { InstanceRecord } from '../../shared/remoter/types.ts';
import { FaultPool } from '../fixtures/fault-pool.ts';
import { waitForSustainedRounds } from '../fixtures/scaling-watch.ts';
import { waitFor } from '../fixtures/wait.ts';

/**
 * The pool-stopping fence for real: `fencePool` (what `terminate` calls first) tells every agent
 * the pool is stopping; a leader that healed a killed node a moment before then leaves the next
 * killed node alone. And the fence never holds terminate up for long when no agent answers.
 */

let pool: FaultPool;
let ctx: PoolContext;

beforeAll(async () => {
  pool = await FaultPool.create({ name: 'fence', min: 3, max: 5 });
  await pool.bootstrap();
  pool.startSampler();
  ctx = await openPool({ config: pool.config, 'state-dir': pool.stateDir }, 'terminate');
});

afterAll(async () => {
  await pool?.cleanup();
});

/** Whether every live agent's log matches `pattern`. */
async function allLogged(pattern: RegExp): Promise<boolean> {
  const logs = await Promise.all(
    (await pool.live()).map((i) => readFile(join(pool.stateDir, 'local', i.id, 'agent.log'), 'utf8').catch(() => '')),
  );
  return logs.length > 0 && logs.every((l) => pattern.test(l));
}

async function killNonLeader(): Promise<string> {
  const leader = await waitFor('one leader', () => pool.agreedLeader(), { timeoutMs: 60_000 });
  const victim = (await pool.live()).find((i) => i.id !== leader.instanceId && i.state === 'running');
  if (!victim?.pid) throw new Error('no non-leader to kill');
  process.kill(victim.pid, 'SIGKILL');
  return victim.id;
}

describe('fencePool against a real self-healing pool', () => {
  let healMs = 0;

  it('control: without the fence, the leader replaces a killed node', async () => {
    await waitFor('3 alive', () => pool.converged(3), { timeoutMs: 90_000, everyMs: 500 });
    const before = new Set((await pool.listAll()).map((i) => i.id));
    const killedAt = Date.now();
    const victim = await killNonLeader();
    await waitFor(
      'a replacement',
      async () =>
        (await pool.live()).some((i) => !before.has(i.id)) && !(await pool.live()).some((i) => i.id === victim),
      { timeoutMs: 90_000 },
    );
    healMs = Date.now() - killedAt;
    await waitFor('3 alive again', () => pool.converged(3), { timeoutMs: 90_000, everyMs: 500 });
  });

  it('after the fence, a killed node is not replaced', async () => {
    const lines: string[] = [];
    const started = Date.now();
    const result = await fencePool(ctx, { progress: (l) => lines.push(l) });
    const took = Date.now() - started;
    expect(took).toBeLessThan(6000);
    expect(result.reached, lines.join('\n')).toBe(3);
    expect(lines.join('\n')).toMatch(/fence: told 3 agents the pool is stopping/);
    const fencedAt = Date.now();
    const leader = await waitFor('one leader', () => pool.agreedLeader(), { timeoutMs: 60_000 });
    await waitFor('every agent to log the notice', () => allLogged(/pool-stopping/), { timeoutMs: 20_000 });

    // Two reasons to launch from here on: the pool below its min, and the expand rule holding.
    await pool.setQueue(50);
    const before = new Set((await pool.listAll()).map((i) => i.id));
    const victim = await killNonLeader();
    // Each round counted below is an evaluation by the leader with the victim gone from the
    // provider's listing and the expand rule sustained: unfenced, the first of them would launch
    // (as the control above shows).
    const last = await waitForSustainedRounds(
      `the fenced leader ${leader.instanceId} to evaluate 4 rounds with ${victim} gone and the rule sustained`,
      () => pool.scaling(leader.instanceId),
      'expand',
      { rounds: 4, ready: async () => !(await pool.live()).some((i) => i.id === victim), timeoutMs: 30_000 },
    );
    await pool.setQueue(5);
    expect(last.leading, 'the leader does not act once fenced').toBe(false);
    expect(last.pending ?? [], 'no intent announced').toEqual([]);
    const added = (await pool.listAll()).filter((i) => !before.has(i.id)).map((i) => i.id);
    expect(added, `launched after the fence (healing took ${healMs} ms before)`).toEqual([]);
    expect((await pool.live()).map((i) => i.id)).not.toContain(victim);
    const acted = (await pool.decisions()).filter((d) => d.at >= fencedAt && d.action !== 'none');
    expect(acted).toEqual([]);
  });

  it('terminate then leaves nothing: no agent process, nothing listed', async () => {
    const { run, pids, listed } = await pool.terminate();
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/fence: /);
    expect(pids).toEqual([]);
    expect(listed).toEqual([]);
    expect(pool.maxSeen).toBeLessThanOrEqual(5);
    expect([...pool.reused]).toEqual([]);
  });
});

describe('fencePool with nobody answering', () => {
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    for (const s of servers) await new Promise((r) => s.close(r));
  });

  it('returns within about 5 s, telling no one, when agents accept TCP but never answer', async () => {
    // A stalled agent: the kernel accepts the connection, nothing ever speaks.
    const host = `127.${10 + Math.floor(Math.random() * 200)}.${1 + Math.floor(Math.random() * 200)}.9`;
    const silent = createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => {});
    });
    servers.push(silent);
    await new Promise<void>((r) => silent.listen(0, host, r));
    const port = (silent.address() as { port: number }).port;
    const def = parsePool(
      {
        name: 'ghost',
        clouds: { web: { instances: { min: 1, max: 3 }, using: { provider: 'local', p2pPort: port } } },
      },
      'ghost.json',
    );
    const listed: InstanceRecord[] = [
      { id: 'local-1', state: 'running', privateIp: host, launchedAt: 1, tags: {}, monitor: `http://${host}:1` },
      { id: 'local-2', state: 'running', privateIp: '127.0.0.254', launchedAt: 1, tags: {} },
    ];
    const ghost: PoolContext = {
      pool: def,
      configFile: 'ghost.json',
      stateDir: pool.stateDir, // for its pool.key
      clouds: ['web'],
      remoter: () => ({
        provider: 'local',
        launch: async () => [],
        list: async () => listed,
        terminate: async () => {},
      }),
    };
    const lines: string[] = [];
    const started = Date.now();
    const result = await fencePool(ghost, { progress: (l) => lines.push(l) });
    const took = Date.now() - started;
    expect(took, lines.join('\n')).toBeLessThan(6500);
    expect(result.targets).toBe(2);
    expect(result.reached).toBe(0);
    expect(lines.join('\n')).toMatch(/fence: told 0 agents/);
  });
});
