import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapPool } from '../cli/commands/bootstrap.ts';
import { terminatePool } from '../cli/commands/terminate.ts';
import type { PoolContext } from '../cli/context.ts';
import { parsePool } from '../shared/config/load.ts';
import { createLocalRemoter, type LocalRemoter } from '../shared/remoter/local.ts';
import type { LocalState } from '../shared/remoter/local-state.ts';
import { type RemoterBase, RemoterError } from '../shared/remoter/types.ts';
import { killMatching, randomLoopbackBase, rootPidsMatching } from './fixtures/procs.ts';
import { runCli } from './fixtures/run-cli.ts';
import { waitFor } from './fixtures/wait.ts';

/**
 * `terminate` sweeps until the provider lists nothing, against a pool that keeps relaunching
 * (a healer process standing in for a self-healing leader), and fails naming what it could not
 * end; a bootstrap that fails half-way ends what it launched. Local provider, fake agents.
 */

const CLI = ['--import', 'tsx', resolve('cli/main.ts')];
const FAKE_AGENT = resolve('test/fixtures/fake-poolparty-agent.mjs');
const HEALER = resolve('test/fixtures/local-healer.ts');
let root: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'poolparty-sweep-'));
});
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});
afterAll(async () => {
  await killMatching(root);
  await rm(root, { recursive: true, force: true, maxRetries: 5 });
});

let n = 0;
async function setup(min = 3) {
  const name = `sw${++n}`;
  const dir = join(root, name);
  const stateDir = join(dir, 'state');
  const base = randomLoopbackBase();
  const raw = {
    name,
    clouds: { web: { instances: { min, max: 10 }, using: { provider: 'local', firstAddress: base } } },
  };
  const configFile = join(root, `${name}.json`);
  await writeFile(configFile, JSON.stringify(raw));
  const pool = parsePool(raw, configFile);
  const remoter = createLocalRemoter({ pool, cloud: 'web', stateDir, agentBin: FAKE_AGENT, terminateGrace: 2000 });
  const ctx = (r: RemoterBase = remoter): PoolContext => ({
    pool,
    configFile,
    stateDir,
    clouds: ['web'],
    remoter: () => r,
  });
  return { name, stateDir, base, configFile, remoter, ctx };
}

const agents = (stateDir: string) => rootPidsMatching(join(stateDir, 'local'));
const collect = () => {
  const lines: string[] = [];
  return { lines, io: { out: () => {}, progress: (l: string) => lines.push(l), stdin: process.stdin } };
};

describe('poolparty terminate sweeps', () => {
  it('ends a pool whose leader keeps relaunching, and an agent no record names; no agent process is left', async () => {
    const s = await setup(3);
    // The leader ignores SIGTERM, so it lives (and heals) through terminate's grace period.
    const leaderRemoter = createLocalRemoter({
      pool: s.ctx().pool,
      cloud: 'web',
      stateDir: s.stateDir,
      agentBin: FAKE_AGENT,
      env: { ...process.env, FAKE_AGENT_IGNORE_TERM: '1' },
    });
    const [leader] = await leaderRemoter.launch({ cloud: 'web', count: 1, clientToken: 'leader' });
    const first = await s.remoter.launch({ cloud: 'web', count: 2, clientToken: 'boot' });
    // One agent whose record is lost (what a launcher killed before write-ahead records left).
    const file = join(s.stateDir, 'local', 'instances.json');
    const state = JSON.parse(await readFile(file, 'utf8')) as LocalState;
    const lost = state.instances.find((i) => i.id === 'local-3')!;
    state.instances = state.instances.filter((i) => i !== lost);
    await writeFile(file, JSON.stringify(state));

    const healer = spawn(
      process.execPath,
      ['--import', 'tsx', HEALER, s.stateDir, s.name, s.base, FAKE_AGENT, '3', String(leader!.pid)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(healer);
    let healed = '';
    healer.stdout?.on('data', (d: Buffer) => {
      healed += d.toString();
    });
    // The healer has restored min (the lost record left the pool one short).
    await waitFor('the healer to top the pool up', () => /launched local-4/.test(healed));
    expect(first.map((i) => i.id)).toEqual(['local-2', 'local-3']);

    const env = { ...process.env, POOLPARTY_AGENT_BIN: FAKE_AGENT };
    const res = await runCli(
      [...CLI, 'terminate', '-c', s.configFile, '--state-dir', s.stateDir, '--yes', '--json'],
      env,
      90_000,
    );
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toContain(`ended agents no record named: local-3 (pid ${lost.pid})`);
    // The healer relaunched while the first round ended the pool; a later round ended those too.
    expect(res.stderr).toMatch(/round 2: terminating local-/);
    expect(healed).toMatch(/launched local-[5-9]/);
    expect(agents(s.stateDir)).toEqual([]);
    const left = (await s.remoter.list({ pool: s.name })).filter((i) => i.state !== 'terminated');
    expect(left).toEqual([]);
  });

  it('exits non-zero naming what the provider could not end, and how to remove it', async () => {
    const s = await setup(2);
    await s.remoter.launch({ cloud: 'web', count: 2, clientToken: 'boot' });
    const stuck: RemoterBase = {
      provider: 'local',
      launch: (req) => s.remoter.launch(req),
      list: (f) => s.remoter.list(f),
      reconcile: (f) => (s.remoter as LocalRemoter).reconcile(f),
      terminate: async (ids) => {
        await s.remoter.terminate(ids.filter((id) => id !== 'local-2'));
        if (ids.includes('local-2')) throw new RemoterError('local-2: permission denied');
      },
    };
    const { lines, io } = collect();
    const err = await terminatePool(s.ctx(stuck), io, { rounds: 3, timeoutMs: 30_000, pauseMs: 50 }).catch(
      (e: Error) => e,
    );
    expect(err).toMatchObject({ name: 'OperationError' });
    expect((err as Error).message).toBe(
      `still running after terminate: local-2 (web: local-2: permission denied); run again: ` +
        `poolparty terminate -c ${JSON.stringify(s.configFile)} --state-dir ${JSON.stringify(s.stateDir)} --yes`,
    );
    expect(lines.filter((l) => l.startsWith('round '))).toEqual([
      'round 1: terminating local-1, local-2',
      'round 1: cloud web: local-2: permission denied',
      'round 2: terminating local-2',
      'round 2: cloud web: local-2: permission denied',
      'round 3: terminating local-2',
      'round 3: cloud web: local-2: permission denied',
    ]);
    expect(agents(s.stateDir)).toHaveLength(1);
    await terminatePool(s.ctx(), collect().io);
    expect(agents(s.stateDir)).toEqual([]);
  });
});

describe('a bootstrap that fails half-way', () => {
  /** A provider whose launch starts the instances, then fails (as a partial provisioning does). */
  const failingLaunch = (r: LocalRemoter, terminate?: RemoterBase['terminate']): RemoterBase => ({
    provider: 'local',
    launch: async (req) => {
      await r.launch(req);
      throw new RemoterError('could not provision 1 of 3 hosts');
    },
    list: (f) => r.list(f),
    reconcile: (f) => r.reconcile(f),
    terminate: terminate ?? ((ids) => r.terminate(ids)),
  });

  it('ends what it launched and fails with the cause', async () => {
    const s = await setup(3);
    const { lines, io } = collect();
    const err = await bootstrapPool(
      s.ctx(failingLaunch(s.remoter)),
      'web',
      { timeoutMs: 10_000, wait: false },
      io,
    ).catch((e: Error) => e);
    expect((err as Error).message).toBe('could not provision 1 of 3 hosts');
    expect(lines).toContain('bootstrap failed: ended what it launched: local-1, local-2, local-3');
    expect(agents(s.stateDir)).toEqual([]);
  });

  it('names what it could not end and the terminate command that removes it', async () => {
    const s = await setup(2);
    const { io } = collect();
    const stuck = failingLaunch(s.remoter, async (ids) => {
      await s.remoter.terminate(ids.filter((id) => id !== 'local-1'));
      if (ids.includes('local-1')) throw new RemoterError('local-1: permission denied');
    });
    const err = await bootstrapPool(s.ctx(stuck), 'web', { timeoutMs: 10_000, wait: false }, io).catch((e: Error) => e);
    expect(err).toMatchObject({ name: 'OperationError' });
    expect((err as Error).message).toBe(
      'could not provision 1 of 3 hosts; still running: local-1 (web: local-1: permission denied); remove with: ' +
        `poolparty terminate -c ${JSON.stringify(s.configFile)} --cloud web --state-dir ${JSON.stringify(s.stateDir)} --yes`,
    );
    expect(agents(s.stateDir)).toHaveLength(1);
    await terminatePool(s.ctx(), collect().io);
    await waitFor('no agent left', () => agents(s.stateDir).length === 0);
  });
});
