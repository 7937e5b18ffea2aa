import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { remoteLayout } from '../shared/provision/layout.ts';
import { deprovisionScript, parseKv } from '../shared/provision/scripts.ts';

/**
 * The stop logic of the host scripts, run with the local sh against stand-in agents: processes
 * whose command line is `<artifact> --config <config>` of a temporary layout, as a detached agent's is.
 */

let dir: string;
const started: ChildProcess[] = [];

afterEach(async () => {
  for (const c of started.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

describe('stopping detached agents', () => {
  it('stops an agent with TERM and one that ignores TERM with KILL, and reports both', async () => {
    dir = await mkdtemp(join(tmpdir(), 'poolparty-stop-'));
    const layout = remoteLayout(dir);
    await mkdir(layout.optDir, { recursive: true });
    await mkdir(layout.etcDir, { recursive: true });
    // Stays up until signalled; with 'ignore' it survives TERM, as a hung agent would.
    await writeFile(
      layout.artifact,
      `if (process.argv[4] === 'ignore') process.on('SIGTERM', () => {}); setInterval(() => {}, 1000); console.log('up');`,
    );
    await writeFile(layout.configFile, '{}');
    const agent = (mode: string) =>
      new Promise<ChildProcess>((resolve, reject) => {
        // Detached: a process group of its own, as setsid gives the real one.
        const c = spawn(process.execPath, [layout.artifact, '--config', layout.configFile, mode], {
          detached: true,
          stdio: ['ignore', 'pipe', 'ignore'],
        });
        started.push(c);
        c.once('error', reject);
        c.stdout?.once('data', () => resolve(c));
      });
    const polite = await agent('polite');
    const stubborn = await agent('ignore');
    const pids = [polite.pid, stubborn.pid] as number[];

    const t0 = Date.now();
    const run = spawnSync('sh', ['-s'], { input: deprovisionScript(layout, 1), encoding: 'utf8', timeout: 30_000 });
    expect(run.status, run.stderr).toBe(0);
    const out = parseKv(run.stdout);
    expect(out.all.stopped?.map(Number).sort()).toEqual([...pids].sort());
    expect(out.last.removed).toBe('1');
    // Both are gone (reaped here, so a zombie does not count as running).
    const exits = [polite, stubborn].map((c) =>
      c.exitCode !== null || c.signalCode !== null ? c.signalCode : once(c, 'exit').then(([, signal]) => signal),
    );
    expect(await Promise.all(exits)).toEqual(['SIGTERM', 'SIGKILL']);
    // The stubborn one was killed only after the grace period (1 s) ran out.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
  });
});
