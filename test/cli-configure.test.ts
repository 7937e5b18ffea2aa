import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigureResult } from '../cli/commands/configure.ts';
import type { StatusResult } from '../cli/commands/status.ts';
import { killMatching, randomLoopbackBase } from './fixtures/procs.ts';
import { runCli } from './fixtures/run-cli.ts';
import { waitFor } from './fixtures/wait.ts';

const CLI = resolve('bin/poolparty.mjs');
/** Two real itamae runs one after the other, on a loaded machine: generous, and bounded. */
const SLOW = 180_000;

/**
 * `poolparty configure` against a local pool of two real agents that applied the cloud's bundle at
 * first boot (bootstrap put it in their caches): the CLI compiles the changed bundle, pushes it to the leader over libp2p and follows the rolling update; a failing verifier halts
 * the next one. The agents share this host's file system, so the resources are idempotent.
 */
describe('poolparty configure (built CLI, real agents, itamae)', () => {
  let dir: string;
  let stateDir: string;
  let config: string;
  let out: string;
  let env: NodeJS.ProcessEnv;
  const base = randomLoopbackBase();

  /** The pool definition with `content` in the managed file and `verify` as its verifier command. */
  const define = (content: string, verify: string) =>
    writeFile(
      config,
      `import { definePool, directory, file, local } from 'poolparty';
const out = ${JSON.stringify(out)};
export default definePool({
  name: 'cfgcli',
  clouds: {
    local: {
      instances: { min: 2, max: 2 },
      using: local({ firstAddress: '${base}' }),
      agent: { heartbeatInterval: '250ms' },
      resources: [directory(out, { mode: '0755' }), file(out + '/motd', { content: ${JSON.stringify(content)}, mode: '0644' })],
      resolver: ['itamae'],
      verifiers: [{ name: 'motd', command: ${JSON.stringify(verify)} }],
    },
  },
});
`,
    );

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'poolparty-cfgcli-'));
    stateDir = join(dir, 'state');
    out = join(dir, 'out');
    config = join(dir, 'clouds.ts');
    await define('hello v1\n', `grep -q 'hello v1' ${out}/motd`);
    const { POOLPARTY_AGENT_BIN: _ignored, ...rest } = process.env;
    env = rest;
    const boot = await runCli(
      [CLI, 'bootstrap', '-c', config, '--state-dir', stateDir, '--timeout', '60s'],
      env,
      90_000,
    );
    if (boot.code !== 0) throw new Error(`bootstrap failed: ${boot.stderr}`);
  }, 120_000);

  afterAll(async () => {
    if (!dir) return;
    await runCli([CLI, 'terminate', '-c', config, '--state-dir', stateDir, '--yes'], env).catch(() => undefined);
    await killMatching(stateDir);
    await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  });

  const cli = (...args: string[]) => runCli([CLI, ...args, '--state-dir', stateDir], env, SLOW - 10_000);

  it("applies the cloud's bundle at first boot: bootstrap placed it with each agent", { timeout: SLOW }, async () => {
    const compiled = await cli('compile', '-c', config, '-o', join(dir, 'compiled'), '--json');
    expect(compiled.code, compiled.stderr).toBe(0);
    const { sha256 } = JSON.parse(compiled.stdout) as { sha256: string };
    // Each round runs the CLI (a second or two): bounded at about two minutes.
    const s = await waitFor(
      'both nodes to apply the first-boot bundle',
      async () => {
        const st = await cli('status', '-c', config, '--json');
        const view = st.code === 0 ? (JSON.parse(st.stdout) as StatusResult) : undefined;
        const members = view?.configuration.members ?? [];
        return members.length === 2 && members.every((m) => m.applied === sha256) ? view : undefined;
      },
      { timeoutMs: 60_000, everyMs: 1000 },
    );
    expect(s.configuration.members.map((m) => m.verifiers)).toEqual([
      { passed: 1, failed: [] },
      { passed: 1, failed: [] },
    ]);
    expect(await readFile(join(out, 'motd'), 'utf8')).toBe('hello v1\n');
  });

  it('rolls a bundle out to both nodes; status shows it applied', { timeout: SLOW }, async () => {
    await define('hello v1.1\n', `grep -q 'hello v1.1' ${out}/motd`);
    const r = await cli('configure', '-c', config, '--timeout', '150s', '--json');
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as ConfigureResult;
    expect(result.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(result.nodes.map((n) => n.instanceId).sort()).toEqual(['local-1', 'local-2']);
    for (const n of result.nodes) expect(n).toMatchObject({ applied: result.sha256, state: 'ok', error: null });
    expect(await readFile(join(out, 'motd'), 'utf8')).toBe('hello v1.1\n');
    expect(r.stderr).toContain(`pushing to the leader ${result.leader.instanceId}`);
    expect(r.stderr).toMatch(/local-\d: ok \(/);

    const status = await cli('status', '-c', config, '--json');
    expect(status.code, status.stderr).toBe(0);
    const s = JSON.parse(status.stdout) as StatusResult;
    expect(s.configuration.members.map((m) => m.applied)).toEqual([result.sha256, result.sha256]);
    expect(s.configuration.rollout).toMatchObject({ sha: result.sha256 });
    expect(s.configuration.members.map((m) => m.verifiers)).toEqual([
      { passed: 1, failed: [] },
      { passed: 1, failed: [] },
    ]);
    // Every member's configuration also rides in the heartbeats: the /cluster view has it.
    for (const m of s.members) expect(m.bundle).toMatchObject({ applied: result.sha256, report: { ok: true } });
    const text = await cli('status', '-c', config);
    expect(text.stdout).toContain(`rollout ${result.sha256.slice(0, 12)}: complete`);
    expect(text.stdout).toMatch(/local-\d +[0-9a-f]{12} +ok +1 ok/);
  });

  it('stops at a failing verifier: exit 1 with the halted reason and the node error', { timeout: SLOW }, async () => {
    await define('hello v2\n', `grep -q 'goodbye' ${out}/motd`);
    const r = await cli('configure', '-c', config, '--timeout', '150s', '--json');
    expect(r.code, r.stderr).toBe(1);
    const error = (JSON.parse(r.stdout) as { error: { name: string; message: string } }).error;
    expect(error.name).toBe('RolloutHaltedError');
    expect(error.message).toMatch(/^rollout of [0-9a-f]{12} halted: local-\d failed to apply/);
    expect(error.message).toMatch(/motd/);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('poolparty:'))).toHaveLength(1);

    const status = await cli('status', '-c', config);
    expect(status.stdout).toMatch(/rollout [0-9a-f]{12}: halted: local-\d failed to apply/);
    expect(status.stdout).toMatch(/local-\d .*failed +0 ok, failed: motd/);
  });
});
