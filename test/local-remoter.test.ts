import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_NODE_FLAGS } from '../shared/agent-node-flags.ts';
import { parsePool } from '../shared/config/load.ts';
import type { PoolDefinition } from '../shared/config/schema.ts';
import { nextLoopback } from '../shared/remoter/address.ts';
import { createLocalRemoter, type LocalRemoterOptions } from '../shared/remoter/local.ts';
import { RemoterError } from '../shared/remoter/types.ts';
import type { AgentConfig } from '../shared/wire/agent-config.ts';
import { killMatching, pidsMatching, randomLoopbackBase } from './fixtures/procs.ts';
import { waitFor } from './fixtures/wait.ts';
import { missingLaunchEnv } from './helpers/agent-process.ts';

const FAKE_AGENT = resolve('test/fixtures/fake-poolparty-agent.mjs');
const servers: Server[] = [];
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'poolparty-local-'));
});

afterAll(async () => {
  await killMatching(root);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await rm(root, { recursive: true, force: true, maxRetries: 5 });
});

let n = 0;
/** A fresh pool with its own state dir and loopback base. */
async function setup(extra: Partial<LocalRemoterOptions> = {}) {
  const stateDir = join(root, `pool-${++n}`);
  const base = randomLoopbackBase();
  const pool: PoolDefinition = parsePool(
    {
      name: `t${n}`,
      clouds: { web: { instances: { min: 1, max: 5 }, using: { provider: 'local', firstAddress: base } } },
    },
    'test.json',
  );
  const remoter = createLocalRemoter({ pool, cloud: 'web', stateDir, agentBin: FAKE_AGENT, ...extra });
  return { stateDir, base, pool, remoter };
}

async function health(monitor: string): Promise<{ instanceId: string }> {
  const res = await fetch(`${monitor}/health`, { signal: AbortSignal.timeout(1000) });
  return (await res.json()) as { instanceId: string };
}

describe('local remoter', () => {
  it('launches each instance on its own address with bootstrap peers, idempotently by token', async () => {
    const { stateDir, base, remoter } = await setup();
    const launched = await remoter.launch({ cloud: 'web', count: 3, clientToken: 'tok-a' });
    expect(launched.map((i) => i.id)).toEqual(['local-1', 'local-2', 'local-3']);
    const second = nextLoopback(base)!;
    expect(launched.map((i) => i.address)).toEqual([base, second, nextLoopback(second)]);
    for (const inst of launched) {
      expect(inst.state).toBe('running');
      expect(inst.monitor).toBe(`http://${inst.address}:8642`);
      expect(inst.tags).toEqual({ 'poolparty:pool': 't1', 'poolparty:cloud': 'web', 'poolparty:token': 'tok-a' });
      expect(inst.peerId).toMatch(/^12D3KooW/);
      const h = await waitFor(`${inst.id} /health`, () => health(inst.monitor!));
      expect(h.instanceId).toBe(inst.id);
      const argv = (await readFile(`/proc/${inst.pid}/cmdline`, 'utf8')).split('\0');
      expect(argv.slice(1, 1 + AGENT_NODE_FLAGS.length)).toEqual([...AGENT_NODE_FLAGS]);
      expect(missingLaunchEnv(inst.pid as number)).toEqual([]);
    }
    // Each new agent is told about the ones before it, including those of the same launch.
    const configs = await Promise.all(
      launched.map(
        async (i) => JSON.parse(await readFile(join(stateDir, 'local', i.id, 'agent.json'), 'utf8')) as AgentConfig,
      ),
    );
    expect(configs.map((c) => c.bootstrap.length)).toEqual([0, 1, 2]);
    expect(configs[2]!.bootstrap).toEqual(
      launched.slice(0, 2).map((i) => `/ip4/${i.address}/tcp/8643/p2p/${i.peerId}`),
    );
    expect(configs[0]!.listen).toEqual([`/ip4/${base}/tcp/8643`]);
    expect(existsSync(join(stateDir, 'pool.key'))).toBe(true);

    const again = await remoter.launch({ cloud: 'web', count: 3, clientToken: 'tok-a' });
    expect(again.map((i) => i.id)).toEqual(['local-1', 'local-2', 'local-3']);
    expect(pidsMatching(stateDir)).toHaveLength(3);

    await remoter.terminate(launched.map((i) => i.id));
    expect(pidsMatching(stateDir)).toEqual([]);
    const listed = await remoter.list({ pool: 't1' });
    expect(listed.map((i) => i.state)).toEqual(['terminated', 'terminated', 'terminated']);

    // All of that launch's instances are gone: the token now starts new ones.
    const relaunched = await remoter.launch({ cloud: 'web', count: 1, clientToken: 'tok-a' });
    expect(relaunched.map((i) => i.id)).toEqual(['local-4']);
    await remoter.terminate(['local-4']);
  });

  it("writes the pool's desired bundle into new agents' configs", async () => {
    const sha = 'c'.repeat(64);
    let asked = 0;
    const { stateDir, remoter } = await setup({
      bundleHash: () => {
        asked++;
        return sha;
      },
    });
    const [inst] = await remoter.launch({ cloud: 'web', count: 1, clientToken: 'tok-bundle' });
    const config = JSON.parse(await readFile(join(stateDir, 'local', inst!.id, 'agent.json'), 'utf8')) as AgentConfig;
    expect(config.bundle).toEqual({ sha256: sha });
    expect(asked).toBe(1);
    await remoter.terminate([inst!.id]);
  });

  it("puts the laptop's bundle into a new agent's cache and names it in its config", async () => {
    const bytes = Buffer.from('not really a tarball');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const { stateDir, remoter } = await setup({ bundleHash: 'd'.repeat(64), bundle: async () => ({ sha256, bytes }) });
    const [inst] = await remoter.launch({ cloud: 'web', count: 1, clientToken: 'tok-bytes' });
    const dir = join(stateDir, 'local', inst!.id);
    const config = JSON.parse(await readFile(join(dir, 'agent.json'), 'utf8')) as AgentConfig;
    expect(config.bundle).toEqual({ sha256 });
    expect(await readFile(join(config.dataDir, 'bundles', `${sha256}.tar.gz`))).toEqual(bytes);
    await remoter.terminate([inst!.id]);
  });

  it('skips addresses whose monitor or p2p port is taken', async () => {
    const { stateDir, base, remoter } = await setup();
    const blocker = createServer();
    servers.push(blocker);
    await new Promise<void>((r) => blocker.listen(8643, base, r));
    const [inst] = await remoter.launch({ cloud: 'web', count: 1, clientToken: 'skip' });
    expect(inst!.address).toBe(nextLoopback(base));
    await remoter.terminate([inst!.id]);
    expect(pidsMatching(stateDir)).toEqual([]);
  });

  it('lists a kill -9ed instance as terminated and reuses its address', async () => {
    const { stateDir, remoter, pool } = await setup();
    const launched = await remoter.launch({ cloud: 'web', count: 2, clientToken: 'k' });
    const victim = launched[0]!;
    process.kill(victim.pid!, 'SIGKILL');
    await waitFor('terminated', async () => (await remoter.list({ pool: pool.name }))[0]!.state === 'terminated');
    const listed = await remoter.list({ pool: pool.name, cloud: 'web' });
    expect(listed.map((i) => [i.id, i.state])).toEqual([
      ['local-1', 'terminated'],
      ['local-2', 'running'],
    ]);
    expect(await remoter.list({ pool: 'other' })).toEqual([]);
    const [replacement] = await remoter.launch({ cloud: 'web', count: 1, clientToken: 'k2' });
    expect(replacement!.address).toBe(victim.address);
    await remoter.terminate(['local-1', 'local-2', 'local-3']);
    expect(pidsMatching(stateDir)).toEqual([]);
  });

  it('SIGKILLs an agent that ignores SIGTERM after the grace period', async () => {
    const { stateDir, remoter, pool } = await setup({
      env: { ...process.env, FAKE_AGENT_IGNORE_TERM: '1' },
      terminateGrace: 500,
    });
    const [inst] = await remoter.launch({ cloud: 'web', count: 1, clientToken: 'stubborn' });
    await waitFor('health', () => health(inst!.monitor!));
    await remoter.terminate([inst!.id]);
    expect(pidsMatching(stateDir)).toEqual([]);
    expect(await readFile(inst!.logFile, 'utf8')).toContain('ignoring SIGTERM');
    expect((await remoter.list({ pool: pool.name }))[0]!.state).toBe('terminated');
  });

  it('serialises concurrent launches through the lock, and breaks a stale lock', async () => {
    const { stateDir, pool } = await setup();
    // A lock left by a process that no longer exists.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    await mkdir(join(stateDir, 'local'), { recursive: true });
    await writeFile(join(stateDir, 'local', 'instances.lock'), String(dead));
    const a = createLocalRemoter({ pool, cloud: 'web', stateDir, agentBin: FAKE_AGENT });
    const b = createLocalRemoter({ pool, cloud: 'web', stateDir, agentBin: FAKE_AGENT });
    const [ra, rb] = await Promise.all([
      a.launch({ cloud: 'web', count: 2, clientToken: 'a' }),
      b.launch({ cloud: 'web', count: 2, clientToken: 'b' }),
    ]);
    const all = [...ra, ...rb];
    expect(new Set(all.map((i) => i.id)).size).toBe(4);
    expect(new Set(all.map((i) => i.address)).size).toBe(4);
    expect(await a.list({ pool: pool.name })).toHaveLength(4);
    expect(existsSync(join(stateDir, 'local', 'instances.lock'))).toBe(false);
    await a.terminate(all.map((i) => i.id));
    expect(pidsMatching(stateDir)).toEqual([]);
  });

  it('rejects unknown ids, other clouds and a missing agent launcher', async () => {
    const { remoter, pool, stateDir } = await setup();
    await expect(remoter.terminate(['local-99'])).rejects.toThrow('unknown instance: local-99');
    await expect(remoter.launch({ cloud: 'db', count: 1, clientToken: 'x' })).rejects.toBeInstanceOf(RemoterError);
    const missing = createLocalRemoter({ pool, cloud: 'web', stateDir, agentBin: join(root, 'nope.mjs') });
    await expect(missing.launch({ cloud: 'web', count: 1, clientToken: 'x' })).rejects.toThrow(
      'agent launcher not found',
    );
  });
});
