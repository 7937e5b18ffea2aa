import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_NODE_FLAGS } from '../shared/agent-node-flags.ts';
import { generatePoolKey } from '../shared/pool-key.ts';
import { waitFor } from './fixtures/wait.ts';
import { logLine, stopProcess, writeLoopbackConfig } from './helpers/agent-process.ts';

/**
 * An idle follower's monitor listens without @hono/node-server: that module reads the global
 * Request/Response (Node then loads undici) and imports node:http2, ~1.7 MB of RSS per agent. It is
 * loaded by the first request, which it then answers.
 */

const UNDICI = 'NativeModule internal/deps/undici/undici';
const HTTP2 = 'NativeModule http2';
// Writes process.moduleLoadList (Node's builtins loaded so far) to $PP_MODULES on SIGUSR2.
const preload = `data:text/javascript,${encodeURIComponent(
  "import{writeFileSync as w}from'node:fs';" +
    "process.on('SIGUSR2',()=>w(process.env.PP_MODULES,process.moduleLoadList.join('\\n')));",
)}`;

let dir: string;
const children: ChildProcess[] = [];

function start(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(process.execPath, [...AGENT_NODE_FLAGS, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return child;
}

/** The builtins `child` has loaded, written by the preload on SIGUSR2. */
async function builtins(child: ChildProcess, file: string): Promise<string[]> {
  await rm(file, { force: true });
  child.kill('SIGUSR2');
  const text = await waitFor('the module list', () => readFile(file, 'utf8').catch(() => ''), { timeoutMs: 30_000 });
  return text.split('\n');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'poolparty-monitor-lazy-'));
});

afterAll(async () => {
  await Promise.all(children.map(stopProcess));
  await rm(dir, { recursive: true, force: true });
});

describe('the monitor of an idle follower', () => {
  it('listens without loading undici or http2, and loads them to answer its first request', async () => {
    const keyFile = join(dir, 'pool.key');
    await writeFile(keyFile, generatePoolKey(), { mode: 0o600 });
    const agent = resolve('bin/poolparty-agent.mjs');
    const seed = start([agent, '--config', await writeLoopbackConfig(dir, 'seed', { keyFile, bootstrap: [] })]);
    const seedStarted = (await logLine(seed, 'agent-started', 60_000)) as { listen: string[]; monitor: string };
    const modulesFile = join(dir, 'follower.modules');
    const follower = start(
      [
        '--import',
        preload,
        agent,
        '--config',
        await writeLoopbackConfig(dir, 'f', { keyFile, bootstrap: [seedStarted.listen[0] as string] }),
      ],
      { PP_MODULES: modulesFile },
    );
    const { monitor } = (await logLine(follower, 'agent-started', 60_000)) as { monitor: string };
    // Joined: the seed (asked over its own monitor, not the follower's) sees both.
    await waitFor(
      'the seed to see the follower',
      async () => {
        const r = await fetch(`${seedStarted.monitor}/cluster`, { signal: AbortSignal.timeout(2000) });
        return ((await r.json()) as { members: unknown[] }).members.length === 2 || null;
      },
      { timeoutMs: 60_000 },
    );

    const idle = await builtins(follower, modulesFile);
    expect(idle).toContain('NativeModule http');
    expect(idle).not.toContain(UNDICI);
    expect(idle).not.toContain(HTTP2);

    const res = await fetch(`${monitor}/health`, { signal: AbortSignal.timeout(5000) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ instanceId: 'f' });
    expect(await builtins(follower, modulesFile)).toContain(UNDICI);
  }, 180_000);
});
