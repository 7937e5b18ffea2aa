import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InstanceRecord } from '../shared/remoter/types.ts';
import { VERSION } from '../shared/version.ts';
import { killMatching, pidsMatching, randomLoopbackBase, waitFor } from './fixtures/procs.ts';
import { runCli, statusUntilAlive } from './fixtures/run-cli.ts';

// The built CLI (test/global-setup.ts builds dist/), with the fake agent from test/fixtures.
const CLI = [resolve('bin/poolparty.mjs')];
let dir: string;
let config: string;
let stateDir: string;
let env: NodeJS.ProcessEnv;
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'poolparty-cli-'));
  stateDir = join(dir, 'state');
  config = join(dir, 'clouds.ts');
  await writeFile(
    config,
    `import { definePool, local } from 'poolparty';
export default definePool({
  name: 'clitest',
  clouds: { web: { instances: { min: 3, max: 5 }, using: local({ firstAddress: '${randomLoopbackBase()}' }) } },
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

describe('poolparty CLI (fake agents)', () => {
  it('prints help and version; usage errors exit 2 with one line', async () => {
    const help = await cli('--help');
    expect(help.code).toBe(0);
    for (const name of ['bootstrap', 'status', 'list', 'terminate', 'demo', 'compile', 'show'])
      expect(help.stdout).toContain(name);
    const version = await cli('--version');
    expect(version.stdout.trim()).toBe(VERSION);
    const sub = await cli('terminate', '--help');
    expect(sub.code).toBe(0);
    expect(sub.stdout).toContain('--yes');
    const unknown = await cli('launch');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe(
      "poolparty: unknown command 'launch' (commands: bootstrap, status, list, terminate, demo, compile, show, configure, ssh)\n",
    );
    const missing = await cli('list');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('poolparty: list: --config is required\n');
  });

  it('reports a bad pool definition in one line with exit code 2', async () => {
    const bad = join(dir, 'bad.json');
    await writeFile(
      bad,
      JSON.stringify({ name: 'x', clouds: { a: { instances: { min: 2, max: 1 }, using: { provider: 'local' } } } }),
    );
    const res = await cli('bootstrap', '-c', bad, '--json');
    expect(res.code).toBe(2);
    expect(res.stderr).toBe(`poolparty: ${bad}: clouds.a.instances: min (2) is greater than max (1)\n`);
    expect(JSON.parse(res.stdout)).toEqual({
      error: { name: 'ConfigError', message: `${bad}: clouds.a.instances: min (2) is greater than max (1)` },
    });
  });

  it('bootstraps, reports status and list, refuses an unconfirmed terminate, then terminates', async () => {
    const boot = await cli('bootstrap', '-c', config, '--json');
    expect(boot.code, boot.stderr).toBe(0);
    const result = JSON.parse(boot.stdout) as {
      launched: InstanceRecord[];
      instances: InstanceRecord[];
      monitors: string[];
    };
    expect(result.launched).toHaveLength(3);
    expect(result.monitors).toHaveLength(3);
    expect(boot.stderr).toContain('created pool key');
    expect(boot.stderr).toContain('local-3: sees 3/3 alive');
    expect(pidsMatching(stateDir)).toHaveLength(3);

    const again = await cli('bootstrap', '-c', config, '--json');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).launched).toEqual([]);
    expect(pidsMatching(stateDir)).toHaveLength(3);

    const { alive, states } = await statusUntilAlive(() => cli('status', '-c', config, '--json'), 3);
    expect(alive, states).toHaveLength(3);
    const byNode = await cli('status', '--node', result.monitors[1]!);
    expect(byNode.stdout).toContain('3/3 alive');

    const list = await cli('list', '-c', config, '--json');
    expect((JSON.parse(list.stdout) as InstanceRecord[]).map((i) => i.state)).toEqual([
      'running',
      'running',
      'running',
    ]);

    const refused = await cli('terminate', '-c', config);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('refusing to terminate without --yes');
    expect(pidsMatching(stateDir)).toHaveLength(3);

    const term = await cli('terminate', '-c', config, '--yes', '--json');
    expect(term.code).toBe(0);
    expect(JSON.parse(term.stdout).terminated).toEqual(['local-1', 'local-2', 'local-3']);
    expect(pidsMatching(stateDir)).toEqual([]);

    const after = await cli('status', '-c', config);
    expect(after.code).toBe(1);
    expect(after.stderr).toBe('poolparty: pool clitest has no running instances\n');
    const all = await cli('list', '-c', config, '--all', '--json');
    expect((JSON.parse(all.stdout) as InstanceRecord[]).every((i) => i.state === 'terminated')).toBe(true);
  });

  it('demo follows events, switches node when the followed one dies, and terminates on SIGINT', async () => {
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

    const followed = await waitFor(() => /following events from (\S+)/.exec(stderr)?.[1], 'demo to follow a node', 300);
    await waitFor(() => stdout.includes('member-joined'), 'an event line');
    const instances = JSON.parse(
      (await runCli([...CLI, 'list', '-c', config, '--json'], env)).stdout,
    ) as (InstanceRecord & { pid: number })[];
    const victim = instances.find((i) => i.monitor === followed)!;
    process.kill(victim.pid, 'SIGKILL');
    await waitFor(() => /switched to (\S+)/.exec(stderr)?.[1], 'demo to switch node', 300);

    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stderr).toContain('stopping: terminating the pool');
    expect(pidsMatching(stateDir)).toEqual([]);
  });
});
