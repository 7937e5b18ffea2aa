import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_NODE_ENV, AGENT_NODE_FLAGS } from '../shared/agent-node-flags.ts';
import { defaultTunables } from '../shared/config/tunables.ts';
import { generatePoolKey } from '../shared/pool-key.ts';
import { loadArtifact } from '../shared/provision/artifact.ts';
import { readUnitTemplate, remoteLayout, renderEnvFile, renderUnit } from '../shared/provision/layout.ts';
import { VERSION } from '../shared/version.ts';
import type { AgentConfig } from '../shared/wire/agent-config.ts';
import { killMatching, randomLoopbackBase } from './fixtures/procs.ts';
import { freePort } from './fixtures/sshd.ts';
import { waitFor } from './fixtures/wait.ts';

const run = promisify(execFile);

/** The single-file agent: built into a temp dir, then run from a directory holding nothing else. */
describe('agent artifact', () => {
  let dir: string;
  let alone: string;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'poolparty-artifact-'));
    await run(process.execPath, ['scripts/build-artifact.mjs', '--outdir', join(dir, 'build')]);
    alone = join(dir, 'alone');
    await mkdir(alone);
    await copyFile(join(dir, 'build', 'poolparty-agent.mjs'), join(alone, 'poolparty-agent.mjs'));
  }, 120_000);

  afterAll(async () => {
    child?.kill('SIGKILL');
    await killMatching(join(dir, 'alone'));
    await rm(dir, { recursive: true, force: true });
  });

  it('has a manifest that matches the file, and loadArtifact accepts it', async () => {
    const bytes = await readFile(join(dir, 'build', 'poolparty-agent.mjs'));
    const manifest = JSON.parse(await readFile(join(dir, 'build', 'poolparty-agent.json'), 'utf8'));
    expect(manifest).toEqual({
      version: VERSION,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      bytes: bytes.length,
    });
    expect((await loadArtifact(join(dir, 'build'))).manifest.sha256).toBe(manifest.sha256);
    expect(bytes.toString('utf8')).not.toContain('sourceMappingURL');
  });

  it('refuses an artifact that does not match its manifest', async () => {
    const bad = join(dir, 'bad');
    await mkdir(bad);
    await copyFile(join(dir, 'build', 'poolparty-agent.json'), join(bad, 'poolparty-agent.json'));
    await writeFile(join(bad, 'poolparty-agent.mjs'), 'tampered');
    await expect(loadArtifact(bad)).rejects.toThrow(/does not match/);
    await expect(loadArtifact(join(dir, 'missing'))).rejects.toMatchObject({ name: 'ArtifactError' });
  });

  it('runs --help and --version with no node_modules anywhere near it', async () => {
    const help = await run(process.execPath, ['poolparty-agent.mjs', '--help'], { cwd: alone });
    expect(help.stdout).toContain('Usage: poolparty-agent --config FILE');
    const version = await run(process.execPath, ['poolparty-agent.mjs', '--version'], { cwd: alone });
    expect(version.stdout.trim()).toBe(VERSION);
  });

  it('starts a real agent from the lone file: monitor answers, SIGTERM exits 0', async () => {
    const host = randomLoopbackBase();
    const port = await freePort(host);
    const p2p = await freePort(host);
    const keyFile = join(alone, 'pool.key');
    await writeFile(keyFile, generatePoolKey(), { mode: 0o600 });
    const config: AgentConfig = {
      pool: 'artifact',
      cloud: 'web',
      instanceId: 'lone-1',
      dataDir: join(alone, 'data'),
      poolKeyFile: keyFile,
      listen: [`/ip4/${host}/tcp/${p2p}`],
      bootstrap: [],
      monitor: { host, port, url: `http://${host}:${port}` },
      tunables: defaultTunables(200),
      metrics: { depth: { kind: 'command', command: 'echo 7', every: 200, timeout: 1000 } },
    };
    await writeFile(join(alone, 'agent.json'), JSON.stringify(config));
    let out = '';
    // NODE_PATH empty and cwd the lone dir: nothing can be resolved from the repository.
    child = spawn(process.execPath, [join(alone, 'poolparty-agent.mjs'), '--config', join(alone, 'agent.json')], {
      cwd: alone,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NODE_PATH: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const health = await waitFor(`the lone agent's /health (${out})`, async () => {
      const res = await fetch(`http://${host}:${port}/health`);
      return res.ok ? ((await res.json()) as { status: string; instanceId: string }) : undefined;
    });
    expect(health).toMatchObject({ status: 'ok', instanceId: 'lone-1' });
    // system metrics (systeminformation, a CJS dependency) and a command metric both sampled
    const stats = await waitFor('metrics from the lone agent', async () => {
      const s = (await (await fetch(`http://${host}:${port}/stats`)).json()) as {
        metrics: Record<string, { value: number | null }>;
      };
      return s.metrics.depth?.value === 7 && typeof s.metrics.load?.value === 'number' ? s : undefined;
    });
    expect(stats.metrics.depth?.value).toBe(7);
    const metrics = await (await fetch(`http://${host}:${port}/metrics`)).text();
    expect(metrics).toContain('poolparty_');
    const exited = new Promise<number | null>((resolve) => child?.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out).not.toMatch(/Cannot find module|ERR_MODULE_NOT_FOUND|Dynamic require/);
  });
});

describe('systemd unit', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'poolparty-unit-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** systemd-analyze verify exits 0 and says nothing; a missing tool fails (never passes). */
  async function expectVerified(unitFile: string): Promise<void> {
    const r = await run('systemd-analyze', ['verify', unitFile]).then(
      (out) => ({ code: 0, stderr: out.stderr }),
      (err: NodeJS.ErrnoException & { stderr?: string }) => {
        if (err.code === 'ENOENT') throw new Error('systemd-analyze is not installed (apt-get install systemd)');
        return { code: Number(err.code), stderr: err.stderr ?? '' };
      },
    );
    expect(r).toEqual({ code: 0, stderr: '' });
  }

  it('the shipped unit passes systemd-analyze verify', async () => {
    // ExecStart is /usr/bin/env node …: its binary exists on any system, so the real file verifies as is.
    await expectVerified('systemd/poolparty-agent.service');
  });

  it("starts node with the agent's flags and environment, like every other launcher", async () => {
    const unit = await readUnitTemplate();
    expect(unit).toContain(
      `ExecStart=/usr/bin/env node ${AGENT_NODE_FLAGS.join(' ')} /var/lib/poolparty/upgrade/current.mjs --config`,
    );
    for (const [k, v] of Object.entries(AGENT_NODE_ENV)) expect(unit).toContain(`\nEnvironment=${k}=${v}\n`);
  });

  it('the unit rendered for a host (absolute node, prefixed paths) passes too', async () => {
    const layout = remoteLayout(join(dir, 'root'));
    const unit = renderUnit(await readUnitTemplate(), layout, process.execPath);
    // It runs the upgrade store's stable link, made to point at the installed artifact when missing.
    const current = `${layout.dataDir}/upgrade/current.mjs`;
    expect(unit).toContain(`ExecStart=${process.execPath} ${AGENT_NODE_FLAGS.join(' ')} ${current} --config`);
    expect(unit).toContain(`ln -sfn ${layout.artifact} ${current};`);
    expect(unit).toContain(`EnvironmentFile=-${layout.envFile}`);
    expect(unit).toContain(`Environment=POOLPARTY_AGENT_CONFIG=${layout.configFile}`);
    const file = join(dir, 'poolparty-agent.service');
    await writeFile(file, unit);
    await expectVerified(file);
    expect(() => renderUnit(unit, layout, 'node; rm -rf /')).toThrow(/refusing/);
  });

  it('agent.env is read the same by sh and (by construction) systemd', async () => {
    const layout = remoteLayout('/x');
    const env = renderEnvFile(layout, { NODE_OPTIONS: '--max-old-space-size=256 --enable-source-maps' });
    const file = join(dir, 'agent.env');
    await writeFile(file, env);
    const { stdout } = await run('sh', [
      '-c',
      `set -a; . "${file}"; set +a; printf '%s|%s' "$POOLPARTY_AGENT_CONFIG" "$NODE_OPTIONS"`,
    ]);
    expect(stdout).toBe('/x/etc/poolparty/agent.json|--max-old-space-size=256 --enable-source-maps');
    expect(() => renderEnvFile(layout, { A: "it's" })).toThrow(/quotes/);
    expect(() => renderEnvFile(layout, { 'A B': 'x' })).toThrow(/name/);
  });
});
