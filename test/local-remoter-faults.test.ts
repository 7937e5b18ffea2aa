import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePool } from '../shared/config/load.ts';
import type { LaunchFaultPoint } from '../shared/remoter/fault-point.ts';
import { createLocalRemoter, type LocalInstanceRecord } from '../shared/remoter/local.ts';
import type { LocalState } from '../shared/remoter/local-state.ts';
import { killMatching, randomLoopbackBase, rootPidsMatching } from './fixtures/procs.ts';
import { waitFor } from './fixtures/wait.ts';

/**
 * Crash tests of the local remoter's write-ahead launch: a launcher process is SIGKILLed at each
 * step of a launch; a fresh remoter's reconcile and relaunch must leave exactly one agent per
 * instance id, never reuse an id, and leak no process.
 */

const FAKE_AGENT = resolve('test/fixtures/fake-poolparty-agent.mjs');
const CHILD = resolve('test/fixtures/local-launch-child.ts');
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'poolparty-faults-'));
});

afterAll(async () => {
  await killMatching(root);
  await rm(root, { recursive: true, force: true, maxRetries: 5 });
});

let n = 0;
function setup() {
  const name = `f${++n}`;
  const stateDir = join(root, name);
  const base = randomLoopbackBase();
  const pool = parsePool(
    { name, clouds: { web: { instances: { min: 1, max: 5 }, using: { provider: 'local', firstAddress: base } } } },
    'test.json',
  );
  const remoter = createLocalRemoter({ pool, cloud: 'web', stateDir, agentBin: FAKE_AGENT, terminateGrace: 2000 });
  return { name, stateDir, base, pool, remoter };
}

/** Runs a launch in a child process with `fault` set; resolves with how it ended. */
function launchInChild(
  s: ReturnType<typeof setup>,
  count: number,
  token: string,
  fault: LaunchFaultPoint,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', CHILD, s.stateDir, s.name, s.base, FAKE_AGENT, String(count), token],
      { env: { ...process.env, POOLPARTY_FAULT_POINT: fault }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`launcher did not finish; stderr: ${stderr}`));
    }, 30_000);
    child.on('error', fail);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stderr });
    });
  });
}

/** Agent processes under the pool's state dir, each with the instance id its config path names. */
async function agentsRunning(stateDir: string): Promise<{ pid: number; id: string }[]> {
  const out: { pid: number; id: string }[] = [];
  for (const pid of rootPidsMatching(join(stateDir, 'local'))) {
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
    const config = argv[argv.indexOf('--config') + 1] ?? '';
    const id = /\/(local-\d+)\/agent\.json$/.exec(config)?.[1];
    if (id) out.push({ pid, id });
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

/** Exactly one agent process per live record, each the record's own pid; ids unique. */
async function expectOneAgentPerId(s: ReturnType<typeof setup>): Promise<LocalInstanceRecord[]> {
  const live = (await s.remoter.list({ pool: s.name })).filter((i) => i.state === 'running');
  const ids = live.map((i) => i.id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(await agentsRunning(s.stateDir)).toEqual(
    live.map((i) => ({ pid: i.pid, id: i.id })).sort((a, b) => a.id.localeCompare(b.id)),
  );
  return live;
}

async function terminateAll(s: ReturnType<typeof setup>): Promise<void> {
  const live = (await s.remoter.list({ pool: s.name })).filter((i) => i.state !== 'terminated');
  await s.remoter.terminate(live.map((i) => i.id));
  await waitFor('no agent process left', async () => (await agentsRunning(s.stateDir)).length === 0, {
    timeoutMs: 5000,
  });
  expect(rootPidsMatching(s.stateDir)).toEqual([]);
}

describe('local remoter: a launcher killed mid-launch', () => {
  const cases: {
    fault: LaunchFaultPoint;
    /** Agents running right after the crash. */
    orphans: number;
    report: { adopted: string[]; cleared: string[] };
    /** The retry with the same token returns these (id and state)… */
    retried: [string, string][];
    /** …and a top-up to 2 instances adds these (ids of cleared launches are never given again). */
    topUp: string[];
  }[] = [
    {
      fault: 'before-record',
      orphans: 0,
      report: { adopted: [], cleared: [] },
      retried: [
        ['local-1', 'running'],
        ['local-2', 'running'],
      ],
      topUp: [],
    },
    {
      fault: 'after-record',
      orphans: 0,
      report: { adopted: [], cleared: ['local-1', 'local-2'] },
      retried: [
        ['local-3', 'running'],
        ['local-4', 'running'],
      ],
      topUp: [],
    },
    {
      fault: 'after-spawn',
      orphans: 1,
      report: { adopted: ['local-1'], cleared: ['local-2'] },
      // The whole cut-short launch: its adopted instance, and its cleared one as terminated.
      retried: [
        ['local-1', 'running'],
        ['local-2', 'terminated'],
      ],
      topUp: ['local-3'],
    },
  ];

  for (const c of cases) {
    it(`at ${c.fault}: reconcile settles it, the retry launches nothing twice, terminate ends all`, async () => {
      const s = setup();
      const crashed = await launchInChild(s, 2, 'tok', c.fault);
      expect({ signal: crashed.signal, stderr: crashed.stderr }).toEqual({ signal: 'SIGKILL', stderr: '' });
      expect(await agentsRunning(s.stateDir)).toHaveLength(c.orphans);

      // What the next leader does on start, in a fresh process (this one) with a fresh remoter.
      const report = await s.remoter.reconcile({ pool: s.name, cloud: 'web' });
      expect(report).toEqual({ ...c.report, strays: [] });
      await expectOneAgentPerId(s);

      // Same token: the adopted instance is that launch's result; nothing new starts.
      const retried = await s.remoter.launch({ cloud: 'web', count: 2, clientToken: 'tok' });
      expect(retried.map((i) => [i.id, i.state])).toEqual(c.retried);
      const topUp = 2 - retried.filter((i) => i.state === 'running').length;
      const added = topUp > 0 ? await s.remoter.launch({ cloud: 'web', count: topUp, clientToken: 'tok-2' }) : [];
      expect(added.map((i) => i.id)).toEqual(c.topUp);

      const live = await expectOneAgentPerId(s);
      expect(live).toHaveLength(2);
      for (const cleared of c.report.cleared) expect(live.map((i) => i.id)).not.toContain(cleared);
      const state = JSON.parse(await readFile(join(s.stateDir, 'local', 'instances.json'), 'utf8')) as LocalState;
      expect(state.instances.filter((i) => i.state === 'launching')).toEqual([]);

      await terminateAll(s);
    });
  }

  it('a retry with the same token settles the cut-short launch itself, without reconcile', async () => {
    const s = setup();
    const crashed = await launchInChild(s, 2, 'tok', 'after-spawn');
    expect(crashed.signal).toBe('SIGKILL');
    const [orphan] = await agentsRunning(s.stateDir);
    const retried = await s.remoter.launch({ cloud: 'web', count: 2, clientToken: 'tok' });
    expect(retried.map((i) => [i.id, i.state, i.pid])).toEqual([
      ['local-1', 'running', orphan?.pid],
      ['local-2', 'terminated', undefined],
    ]);
    await expectOneAgentPerId(s);
    await terminateAll(s);
  });

  it('ends an agent that no record names (a stray) and never gives its id again', async () => {
    const s = setup();
    const launched = await s.remoter.launch({ cloud: 'web', count: 2, clientToken: 'tok' });
    const stray = launched[1]!;
    // The record is lost, as when a launcher died after spawning without a write-ahead record.
    const file = join(s.stateDir, 'local', 'instances.json');
    const state = JSON.parse(await readFile(file, 'utf8')) as LocalState;
    state.instances = state.instances.filter((i) => i.id !== stray.id);
    await writeFile(file, JSON.stringify(state));

    const report = await s.remoter.reconcile({ pool: s.name });
    expect(report).toEqual({ adopted: [], cleared: [], strays: [`${stray.id} (pid ${stray.pid})`] });
    expect(await agentsRunning(s.stateDir)).toEqual([{ pid: launched[0]!.pid, id: 'local-1' }]);

    const next = await s.remoter.launch({ cloud: 'web', count: 1, clientToken: 'tok-2' });
    expect(next.map((i) => i.id)).toEqual(['local-3']);
    expect(await s.remoter.reconcile({ pool: s.name })).toEqual({ adopted: [], cleared: [], strays: [] });
    await expectOneAgentPerId(s);
    await terminateAll(s);
  });

  it('reconciles nothing for another pool', async () => {
    const s = setup();
    expect(await s.remoter.reconcile({ pool: 'other' })).toEqual({ adopted: [], cleared: [], strays: [] });
  });
});
