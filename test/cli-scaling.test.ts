import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusResult } from '../cli/commands/status.ts';
import type { InstanceRecord } from '../shared/remoter/types.ts';
import { killMatching, pidsMatching, randomLoopbackBase, waitFor } from './fixtures/procs.ts';
import { runCli } from './fixtures/run-cli.ts';

// status and demo with leadership and scaling, against the fake agent (it serves /leader,
// /scaling and leader/scaling events; see test/fixtures/fake-poolparty-agent.mjs).
const CLI = ['--import', 'tsx', resolve('cli/main.ts')];
let dir: string;
let config: string;
let stateDir: string;
let env: NodeJS.ProcessEnv;
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'poolparty-cli-scaling-'));
  stateDir = join(dir, 'state');
  config = join(dir, 'clouds.ts');
  await writeFile(
    config,
    `import { definePool, local } from 'poolparty';
export default definePool({
  name: 'clisc',
  clouds: {
    web: {
      instances: { min: 3, max: 5 },
      using: local({ firstAddress: '${randomLoopbackBase()}' }),
      metrics: { queue: { file: 'queue' } },
      scaling: { expandWhen: 'queue > 10 for 3s', contractWhen: 'queue < 1 for 3s' },
    },
  },
});
`,
  );
  env = {
    ...process.env,
    POOLPARTY_AGENT_BIN: resolve('test/fixtures/fake-poolparty-agent.mjs'),
    POOLPARTY_STATE_DIR: stateDir,
  };
});

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await killMatching(dir);
  await rm(dir, { recursive: true, force: true, maxRetries: 5 });
});

const cli = (...args: string[]) => runCli([...CLI, ...args], env);

describe('poolparty status and demo with a leader and scaling (fake agents)', () => {
  it('status shows the leader and the last 10 decisions, in the table and in --json', async () => {
    const boot = await cli('bootstrap', '-c', config, '--json');
    expect(boot.code, boot.stderr).toBe(0);
    const instances = JSON.parse(boot.stdout).instances as InstanceRecord[];
    const leaderNode = instances[0]!.monitor!;

    // Asked of a follower: the leader comes from its /leader, decisions from the leader's /scaling.
    const json = await cli('status', '--node', instances[2]!.monitor!, '--json');
    expect(json.code, json.stderr).toBe(0);
    const r = JSON.parse(json.stdout) as StatusResult;
    expect(r.node).toBe(instances[2]!.monitor);
    expect(r.members).toHaveLength(3);
    const leaderMember = r.members.find((m) => m.instanceId === 'local-1')!;
    expect(r.leader).toEqual({ peerId: leaderMember.peerId, term: 1, since: leaderMember.startedAt, self: false });
    expect(r.scaling).toMatchObject({ node: leaderNode, enabled: true, leading: true, bounds: { min: 3, max: 5 } });
    expect(r.scaling!.decisions.map((d) => d.reason)).toEqual(
      Array.from({ length: 10 }, (_, i) => `fake decision ${i + 2}`),
    );

    const text = await cli('status', '-c', config);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('pool clisc: 3/3 alive');
    expect(text.stdout).toMatch(/leader 12D3KooW\S+ \(local-1\), term 1, since \d\d:\d\d:\d\d \(\S+ ago\)/);
    expect(text.stdout).toContain(`scaling (${leaderNode}): 3 instances, bounds 3..5`);
    expect(text.stdout).toContain('expand when queue > 10 for 3s (holds now)');
    expect(text.stdout).toContain('contract when queue < 1 for 3s\n');
    expect(text.stdout).toMatch(/TIME\s+ACTION\s+COUNT\s+INSTANCES\s+RESULT\s+REASON/);
    expect(text.stdout).toMatch(/none \(cooldown\)\s+0\s+3\s+-\s+fake decision 10/);
    expect(text.stdout).toMatch(/expand\s+1\s+3\s+ok\s+fake decision 11/);
    expect(text.stdout).not.toContain('fake decision 1\n');

    const term = await cli('terminate', '-c', config, '--yes');
    expect(term.code, term.stderr).toBe(0);
    expect(pidsMatching(stateDir)).toEqual([]);
  });

  it('demo prints leader changes, scaling decisions and retiring nodes once each', async () => {
    const child = spawn(process.execPath, [...CLI, 'demo', '-c', config], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((r) => child.on('close', r));
    await waitFor(() => stdout.includes('fake expand') && stdout.includes('retiring'), 'scaling lines', 300);
    await waitFor(() => stdout.includes('leader-elected'), 'a leader line', 100);
    // Give a duplicate (from a second stream) the time to show up before counting.
    await new Promise((r) => setTimeout(r, 1500));
    const lines = stdout.split('\n');
    const count = (needle: string) => lines.filter((l) => l.includes(needle)).length;
    expect(count('fake expand')).toBe(1);
    expect(lines.find((l) => l.includes('fake expand'))).toMatch(
      /scaling-decision\s+expand \+1 at 3 instances: fake expand → ok$/,
    );
    expect(count('fake blocked decision')).toBe(1);
    expect(lines.find((l) => l.includes('fake blocked decision'))).toContain('none (cooldown) at 3 instances');
    expect(count('fake quiet decision')).toBe(0);
    expect(count('fake retire')).toBe(1);
    expect(lines.find((l) => l.includes('fake retire'))).toMatch(
      /retiring\s+local-\d+\s+12D3KooW\S+\s+term 1: fake retire/,
    );
    // One leader-elected per followed node, naming the leader's instance.
    expect(count('leader-elected')).toBe(1);
    expect(lines.find((l) => l.includes('leader-elected'))).toMatch(
      /leader-elected\s+local-\d+\s+12D3KooW\S+\s+term 1$/,
    );

    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stderr).toContain('stopping: terminating the pool');
    expect(pidsMatching(stateDir)).toEqual([]);
  });

  it('demo --drive refuses a pool whose expand rule reads no file metric, before launching', async () => {
    const bad = join(dir, 'nodrive.json');
    await writeFile(
      bad,
      JSON.stringify({
        name: 'nodrive',
        clouds: {
          a: { instances: { min: 1, max: 2 }, using: { provider: 'local' }, scaling: { expandWhen: 'load > 1' } },
        },
      }),
    );
    const res = await cli('demo', '-c', bad, '--drive');
    expect(res.code).toBe(2);
    expect(res.stderr).toBe(
      "poolparty: demo --drive: the expand rule of cloud 'a' ('load > 1') reads no file metric to drive\n",
    );
    expect(pidsMatching(join(stateDir, '..'))).toEqual([]);
  });
});
