import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../cli/command-table.ts';
import type { InstanceRecord } from '../shared/remoter/types.ts';
import { VERSION } from '../shared/version.ts';
import { LocalPool } from './fixtures/local-pool.ts';
import { pidsMatching } from './fixtures/procs.ts';
import { statusUntilAlive } from './fixtures/run-cli.ts';
import { waitFor } from './fixtures/wait.ts';

// The built CLI (test/global-setup.ts builds dist/), with the fake agent from test/fixtures.
let pool: LocalPool;

beforeAll(async () => {
  pool = await LocalPool.create({ name: 'clitest', agent: 'fake' });
});

afterAll(() => pool?.cleanup());

const cli = (...args: string[]) => pool.cli(...args);

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
      `poolparty: unknown command 'launch' (commands: ${COMMANDS.map((c) => c.name).join(', ')})\n`,
    );
    const missing = await cli('list');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(
      /^poolparty: list: no pool definition: give -c FILE, set POOLPARTY_CONFIG, or run it in a directory with clouds\.ts \(.+ has none\)\n$/,
    );
  });

  it('reports a bad pool definition in one line with exit code 2', async () => {
    const bad = join(pool.dir, 'bad.json');
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

  it('lists every problem of a pool definition, one per line, with exit code 2', async () => {
    const bad = join(pool.dir, 'typos.json');
    await writeFile(
      bad,
      JSON.stringify({
        name: 'x',
        clouds: { a: { instancez: { min: 1, max: 2 }, using: { provider: 'local', firstAdress: '127.0.0.2' } } },
      }),
    );
    const res = await cli('list', '-c', bad);
    expect(res.code).toBe(2);
    expect(res.stderr).toBe(
      [
        `poolparty: ${bad}: 3 problems:`,
        "  clouds.a: unknown key 'instancez' (did you mean 'instances'?)",
        '  clouds.a.instances: required',
        "  clouds.a.using: unknown key 'firstAdress' (did you mean 'firstAddress'?)",
        '',
      ].join('\n'),
    );
  });

  // About ten CLI runs in a row, each a new node process: seconds apiece on a loaded machine.
  it('bootstraps, reports status and list, refuses an unconfirmed terminate, then terminates', {
    timeout: 120_000,
  }, async () => {
    const boot = await cli('bootstrap', '-c', pool.config, '--json');
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
    expect(pidsMatching(pool.stateDir)).toHaveLength(3);

    const again = await cli('bootstrap', '-c', pool.config, '--json');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).launched).toEqual([]);
    expect(pidsMatching(pool.stateDir)).toHaveLength(3);

    const { alive, states } = await statusUntilAlive(() => cli('status', '-c', pool.config, '--json'), 3);
    expect(alive, states).toHaveLength(3);
    const byNode = await cli('status', '--node', result.monitors[1]!);
    expect(byNode.stdout).toContain('3/3 alive');

    const list = await cli('list', '-c', pool.config, '--json');
    expect((JSON.parse(list.stdout) as InstanceRecord[]).map((i) => i.state)).toEqual([
      'running',
      'running',
      'running',
    ]);

    const refused = await cli('terminate', '-c', pool.config);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('refusing to terminate without --yes');
    expect(pidsMatching(pool.stateDir)).toHaveLength(3);

    const term = await cli('terminate', '-c', pool.config, '--yes', '--json');
    expect(term.code).toBe(0);
    expect(JSON.parse(term.stdout).terminated).toEqual(['local-1', 'local-2', 'local-3']);
    expect(pidsMatching(pool.stateDir)).toEqual([]);

    const after = await cli('status', '-c', pool.config);
    expect(after.code).toBe(1);
    expect(after.stderr).toBe('poolparty: pool clitest has no running instances\n');
    const all = await cli('list', '-c', pool.config, '--all', '--json');
    expect((JSON.parse(all.stdout) as InstanceRecord[]).every((i) => i.state === 'terminated')).toBe(true);
  });

  it('demo follows events, switches node when the followed one dies, and terminates on SIGINT', async () => {
    const { child, out, exited } = pool.start(['demo', '-c', pool.config]);

    const followed = await waitFor('demo to follow a node', () => /following events from (\S+)/.exec(out.stderr)?.[1], {
      timeoutMs: 30_000,
    });
    await waitFor('an event line', () => out.stdout.includes('member-joined'));
    const instances = JSON.parse((await cli('list', '-c', pool.config, '--json')).stdout) as (InstanceRecord & {
      pid: number;
    })[];
    const victim = instances.find((i) => i.monitor === followed)!;
    process.kill(victim.pid, 'SIGKILL');
    await waitFor('demo to switch node', () => /switched to (\S+)/.exec(out.stderr)?.[1], { timeoutMs: 30_000 });

    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(out.stderr).toContain('stopping: terminating the pool');
    expect(pidsMatching(pool.stateDir)).toEqual([]);
  });
});
