import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Plan } from '../cli/plan-steps.ts';
import type { InstanceRecord } from '../shared/remoter/types.ts';
import { LocalPool } from './fixtures/local-pool.ts';
import { waitFor } from './fixtures/wait.ts';

/**
 * `poolparty plan` (built CLI) on real local pools: what bootstrap and terminate would do before
 * and after a bootstrap, checked against what the commands then did, and that planning itself
 * launches and ends nothing. configure's plan on real agents (itamae) that applied the bundle at
 * first boot: unchanged until the definition changes, then every node to update with the new hash.
 */

const plan = async (pool: LocalPool, ...args: string[]): Promise<Plan> => {
  const res = await pool.cli('plan', '-c', pool.config, ...args, '--json');
  expect(res.code, res.stderr).toBe(0);
  return JSON.parse(res.stdout) as Plan;
};

const live = async (pool: LocalPool): Promise<string[]> => {
  const res = await pool.cli('list', '-c', pool.config, '--json');
  return (JSON.parse(res.stdout) as InstanceRecord[]).map((i) => i.id).sort();
};

describe('poolparty plan (fake agents)', () => {
  let pool: LocalPool;
  beforeAll(async () => {
    pool = await LocalPool.create({ name: 'plan', agent: 'fake' });
  });
  afterAll(() => pool?.cleanup());

  it('plans bootstrap and terminate, launching and ending nothing itself', { timeout: 120_000 }, async () => {
    const before = await plan(pool);
    expect(before.command).toBe('bootstrap');
    expect(before.clouds.map((c) => [c.cloud, c.launch, c.instances.length])).toEqual([['web', 3, 3]]);
    expect(await live(pool)).toEqual([]);
    const human = await pool.cli('plan', '-c', pool.config);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('cloud web (local, min 3, max 5):');
    expect(human.stdout.trimEnd().endsWith('plan: bootstrap would launch 3 instance(s), keep 0')).toBe(true);

    const boot = await pool.cli('bootstrap', '-c', pool.config, '--json');
    expect(boot.code, boot.stderr).toBe(0);
    const ids = await live(pool);
    expect(ids).toHaveLength(3);

    const after = await plan(pool, 'bootstrap');
    expect(after.clouds[0]?.launch).toBe(0);
    expect(after.clouds[0]?.instances.map((i) => [i.id, i.action]).sort()).toEqual(ids.map((id) => [id, 'keep']));
    expect(after.clouds[0]?.notes).toEqual([
      'pool exists: 3 running instance(s) count towards min 3',
      'nothing to launch',
    ]);

    const ending = await plan(pool, 'terminate');
    expect([...(ending.clouds[0]?.end ?? [])].sort()).toEqual(ids);
    expect(await live(pool)).toEqual(ids);

    // Nothing to configure: no monitor is asked, nothing compiled.
    const configure = await plan(pool, 'configure');
    expect(configure.clouds[0]?.bundle).toBeNull();
    expect(configure.clouds[0]?.notes[0]).toMatch(/^nothing to configure/);

    const end = await pool.cli('terminate', '-c', pool.config, '--yes', '--json');
    expect(end.code, end.stderr).toBe(0);
    expect((JSON.parse(end.stdout) as { terminated: string[] }).terminated.sort()).toEqual(ids);
    expect((await plan(pool, 'terminate')).clouds[0]?.end).toEqual([]);
  });

  it('refuses an unknown command with exit 2', async () => {
    const res = await pool.cli('plan', '-c', pool.config, 'launch');
    expect(res.code).toBe(2);
    expect(res.stderr).toBe(
      "poolparty: plan: unknown command 'launch' (plan one of: bootstrap, terminate, configure)\n",
    );
  });
});

describe('poolparty plan configure (real agents, itamae)', () => {
  let pool: LocalPool;
  let out: string;
  /** The managed file's content is the only thing that changes the bundle. */
  const define = async (content: string) => {
    const text = await readFile(pool.config, 'utf8');
    const fields = `resources: [file(${JSON.stringify(join(out, 'motd'))}, { content: ${JSON.stringify(content)}, mode: '0644' })],`;
    await writeFile(
      pool.config,
      text.replace('{ definePool, local }', '{ definePool, file, local }').replace(/resources: \[.*\],/, fields),
    );
  };

  beforeAll(async () => {
    pool = await LocalPool.create({
      name: 'planconf',
      agent: 'real',
      cloudFields: "agent: { heartbeatInterval: '250ms' }, resolver: ['itamae'], resources: [],",
    });
    out = join(pool.dir, 'out');
    await mkdir(out);
    await define('v1\n');
    const boot = await pool.cli('bootstrap', '-c', pool.config, '--timeout', '60s');
    if (boot.code !== 0) throw new Error(`bootstrap failed: ${boot.stderr}`);
  }, 120_000);
  afterAll(async () => {
    if (!pool) return;
    await pool.cli('terminate', '-c', pool.config, '--yes').catch(() => undefined);
    await pool.cleanup();
  });

  it('shows the bundle each node runs, and which would change', { timeout: 180_000 }, async () => {
    const compiled = await pool.cli('compile', '-c', pool.config, '-o', join(pool.dir, 'bundles'), '--json');
    expect(compiled.code, compiled.stderr).toBe(0);
    const { sha256 } = JSON.parse(compiled.stdout) as { sha256: string };
    // Every node applies the bundle bootstrap handed it at first boot.
    const settled = await waitFor(
      'every node on the first bundle',
      async () => {
        const p = await plan(pool, 'configure');
        return p.clouds[0]?.instances.every((i) => i.action === 'unchanged') ? p : undefined;
      },
      { timeoutMs: 120_000, everyMs: 1000 },
    );
    expect(settled.clouds[0]?.bundle).toBe(sha256);
    expect(settled.clouds[0]?.instances.map((i) => i.bundle)).toEqual([sha256, sha256, sha256]);

    await define('v2\n');
    const changed = await plan(pool, 'configure');
    const next = changed.clouds[0]?.bundle;
    expect(next).toMatch(/^[0-9a-f]{64}$/);
    expect(next).not.toBe(sha256);
    expect(changed.clouds[0]?.instances.map((i) => [i.action, i.bundle])).toEqual([
      ['update', sha256],
      ['update', sha256],
      ['update', sha256],
    ]);
    const human = await pool.cli('plan', '-c', pool.config, 'configure');
    expect(human.stdout).toContain(`bundle ${next}`);
    expect(human.stdout.trimEnd().endsWith('plan: configure would update 3 node(s), 0 unknown')).toBe(true);
    // Planning rolled nothing out.
    expect(await readFile(join(out, 'motd'), 'utf8')).toBe('v1\n');
  });
});
