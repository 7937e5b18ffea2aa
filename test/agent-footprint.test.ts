import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { brotliDecompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
// @ts-expect-error: a plain .mjs module of the build, without type declarations
import { loadEmbedded } from '../scripts/embedded-module.mjs';
import { AGENT_NODE_FLAGS } from '../shared/agent-node-flags.ts';
import { createLogger } from '../shared/log.ts';
import { generatePoolKey } from '../shared/pool-key.ts';
import type { Ec2Remoter } from '../shared/remoter/ec2.ts';
import type * as RemoterModule from '../shared/remoter/load.ts';
import { signalAgent, spawnAgent } from '../shared/remoter/local-process.ts';
import { processRuns } from '../shared/remoter/pid.ts';
import { TAG_CLOUD, TAG_POOL } from '../shared/remoter/types.ts';
import { ec2Pool, stubAwsEnv } from './ec2-fixtures.ts';
import { type FakeEc2Server, startEc2Server } from './ec2-server/server.ts';
import { waitFor } from './fixtures/wait.ts';
import { loadedModules, logLine, missingLaunchEnv, stopProcess, writeLoopbackConfig } from './helpers/agent-process.ts';

/**
 * "Load only what is used" (issue 13): an idle follower never loads the AWS SDK or ssh2. The npm
 * build (dist/, dependencies in node_modules) loads providers as separate modules only when a
 * leader needs one, which NODE_DEBUG's module log shows; the single-file artifact carries them
 * compressed (scripts/build-artifact.mjs) and evaluates one only on first import, which a heap
 * snapshot of its idle follower shows. A leader on the ec2 provider is covered by
 * ec2-pool.test.ts (npm build) and, for the embedded modules, by the last test here.
 */

const run = promisify(execFile);
/**
 * Strings that only the AWS SDK's code (its user agent), only ssh2's (its ident) and only zod's
 * (the global it keeps its registry in) contain.
 */
const MARKERS = { aws: 'aws-sdk-js', ssh2: 'ssh2js', zod: '__zod_globalRegistry' };

let dir: string;
let artifact: string;
let keyFile: string;
let seed: ChildProcess | undefined;
let seedAddr: string;
const children: ChildProcess[] = [];

function start(args: string[], env: NodeJS.ProcessEnv = {}, cwd = dir): ChildProcess {
  const child = spawn(process.execPath, [...AGENT_NODE_FLAGS, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return child;
}

/** Resolves with the agent's 'agent-started' log line. */
async function started(child: ChildProcess): Promise<{ listen: string[]; monitor: string; peerId: string }> {
  return (await logLine(child, 'agent-started', 30_000)) as { listen: string[]; monitor: string; peerId: string };
}

function config(name: string, bootstrap: string[]): Promise<string> {
  return writeLoopbackConfig(dir, name, { keyFile, bootstrap, heartbeatInterval: 200 });
}

/** Waits until the follower sees the seed as leader: it has joined and settled as a follower. */
async function following(monitor: string, peerId: string): Promise<void> {
  await waitFor(
    'the follower to see the seed lead',
    async () => {
      const r = await fetch(`${monitor}/cluster`, { signal: AbortSignal.timeout(2000) });
      const view = (await r.json()) as { leader: { peerId: string } | null; members: unknown[] };
      return view.leader !== null && view.leader.peerId !== peerId && view.members.length === 2 ? view : null;
    },
    { timeoutMs: 15_000 },
  );
}

/** The heap snapshot written into `dir` (--heapsnapshot-signal), once it is complete. */
async function snapshot(dir: string): Promise<string> {
  return waitFor(
    'a complete heap snapshot',
    async () => {
      const file = (await readdir(dir)).find((f) => f.endsWith('.heapsnapshot'));
      if (!file) return null;
      const text = await readFile(join(dir, file), 'utf8');
      // Whole once it parses: the writer appends it in pieces (a partial one throws: not yet).
      if (!text.trimEnd().endsWith('}')) return null;
      JSON.parse(text);
      return text;
    },
    { timeoutMs: 60_000 },
  );
}

/**
 * The modules embedded in `text` (the artifact's, or an embedded module's), nested ones too: name →
 * blob (base64) and source. The artifact's own are string literals of one Latin-1 character per
 * byte (scripts/build-artifact.mjs, latin1Literal), nested ones base64.
 */
function embedded(text: string, out = new Map<string, { blob: string; source: string }>()) {
  const call = /\("([a-z0-9-]+)","((?:[^"\\]|\\[\s\S])*)",__ppArtifactUrl,"(latin1|base64)"\)/g;
  const escaped = { x00: '\0', n: '\n', r: '\r', '"': '"', '\\': '\\' } as Record<string, string>;
  for (const m of text.matchAll(call)) {
    const [, name, literal, encoding] = m as unknown as [string, string, string, 'latin1' | 'base64'];
    const bytes = Buffer.from(
      literal.replace(/\\(x00|n|r|"|\\)/g, (_, e: string) => escaped[e] as string),
      encoding,
    );
    const source = brotliDecompressSync(bytes).toString('utf8');
    out.set(name, { blob: bytes.toString('base64'), source });
    embedded(source, out);
  }
  return out;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'poolparty-footprint-'));
  await run(process.execPath, ['scripts/build-artifact.mjs', '--outdir', join(dir, 'build')]);
  artifact = join(dir, 'build', 'poolparty-agent.mjs');
  keyFile = join(dir, 'pool.key');
  await writeFile(keyFile, generatePoolKey(), { mode: 0o600 });
  // The seed starts first and so leads; the agents under test join it as followers.
  seed = start([resolve('dist/poolparty-agent.mjs'), '--config', await config('seed', [])]);
  seedAddr = (await started(seed)).listen[0] as string;
}, 120_000);

afterAll(async () => {
  await Promise.all(children.map(stopProcess));
  await rm(dir, { recursive: true, force: true });
});

describe('what an idle follower loads or keeps', () => {
  it('the artifact carries the AWS SDK and ssh2 only inside its embedded modules', async () => {
    const text = await readFile(artifact, 'utf8');
    const modules = embedded(text);
    expect([...modules.keys()].sort()).toEqual([
      'agent-config',
      'remoter',
      'remoter-ec2',
      'remoter-local',
      'remoter-ssh',
      'remoter-vsphere',
      'sftp-source',
      'systeminformation',
    ]);
    expect(modules.get('remoter-ec2')?.source).toContain(MARKERS.aws);
    expect(modules.get('remoter-ssh')?.source).toContain(MARKERS.ssh2);
    expect(modules.get('sftp-source')?.source).toContain(MARKERS.ssh2);
    expect(text).not.toContain(MARKERS.aws);
    expect(text).not.toContain(MARKERS.ssh2);
    // The providers are embedded in the remoter module, each on its own: loading one loads only it.
    expect(modules.get('remoter')?.source).not.toContain(MARKERS.aws);
    expect(modules.get('remoter')?.source).not.toContain(MARKERS.ssh2);
  });

  it('an idle follower of the artifact has evaluated neither (heap snapshot)', async () => {
    const snapDir = join(dir, 'snap');
    await mkdir(snapDir);
    const child = start(
      ['--heapsnapshot-signal=SIGUSR2', artifact, '--config', await config('art', [seedAddr])],
      {},
      snapDir,
    );
    const s = await started(child);
    await following(s.monitor, s.peerId);
    child.kill('SIGUSR2');
    const heap = await snapshot(snapDir);
    await stopProcess(child);
    // The snapshot does hold what the follower runs (gossipsub's protocol id) ...
    expect(heap).toContain('/meshsub/1.1.0');
    // ... and nothing of the AWS SDK or ssh2, nor of the config parser's zod, which ran at start.
    expect(heap).not.toContain(MARKERS.aws);
    expect(heap).not.toContain(MARKERS.ssh2);
    expect(heap).not.toContain(MARKERS.zod);
  }, 120_000);

  it('an idle follower of the npm build imports no AWS SDK, ssh2 or systeminformation module', async () => {
    const child = start([resolve('bin/poolparty-agent.mjs'), '--config', await config('npm', [seedAddr])], {
      NODE_DEBUG: 'esm,module',
    });
    let debug = '';
    child.stderr?.setEncoding('utf8').on('data', (c: string) => {
      debug += c;
    });
    const s = await started(child);
    await following(s.monitor, s.peerId);
    await stopProcess(child);
    const loaded = loadedModules(debug).files;
    expect(loaded.some((f) => f.includes('/node_modules/libp2p/'))).toBe(true);
    expect(loaded.filter((f) => /\/node_modules\/(@aws-sdk|@smithy|ssh2|systeminformation)\//.test(f))).toEqual([]);
  }, 60_000);
});

describe('how a launcher starts the artifact', () => {
  it("the local provider's spawn runs a follower with AGENT_NODE_FLAGS as node's options and AGENT_NODE_ENV", async () => {
    const logFile = join(dir, 'spawned.log');
    const pid = spawnAgent({
      node: process.execPath,
      bin: artifact,
      configFile: await config('spawned', [seedAddr]),
      logFile,
      cwd: dir,
      env: process.env,
    });
    try {
      const s = await waitFor(
        "the spawned agent's 'agent-started' line",
        async () => {
          const line = (await readFile(logFile, 'utf8')).split('\n').find((l) => l.includes('"agent-started"'));
          return line ? (JSON.parse(line) as { monitor: string; peerId: string }) : null;
        },
        { timeoutMs: 30_000 },
      );
      // Node refuses to start on an option it does not know, so a follower that joined and follows
      // runs with these flags as node's own options (before the script, not as the agent's args) ...
      await following(s.monitor, s.peerId);
      const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
      expect(argv.slice(1, 2 + AGENT_NODE_FLAGS.length)).toEqual([...AGENT_NODE_FLAGS, artifact]);
      // ... and with the environment glibc's malloc reads at exec.
      expect(missingLaunchEnv(pid)).toEqual([]);
    } finally {
      signalAgent(pid, 'SIGTERM');
      await waitFor('the spawned agent to exit', async () => !processRuns(pid) || null, { timeoutMs: 15_000 }).catch(
        () => signalAgent(pid, 'SIGKILL'),
      );
    }
  }, 60_000);
});

describe("the artifact's embedded ec2 provider", () => {
  let server: FakeEc2Server;
  beforeAll(async () => {
    // The agent sets the same before it can load the SDK (agent/main.ts).
    stubAwsEnv({ AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
    server = await startEc2Server({ now: () => Date.now(), pendingMs: 0, shuttingDownMs: 0 });
  });
  afterAll(async () => {
    await server.close();
    vi.unstubAllEnvs();
  });

  it('a leader loads it through the embedded remoter module, and it lists and launches against the wire-level EC2 server', async () => {
    const { blob } = embedded(await readFile(artifact, 'utf8')).get('remoter') ?? { blob: '' };
    const { loadRemoter } = loadEmbedded('remoter', blob, pathToFileURL(artifact).href) as typeof RemoterModule;
    const stateDir = join(dir, 'ec2-state');
    const remoter = (await loadRemoter({
      pool: ec2Pool({ endpoint: server.endpoint }),
      cloud: 'app',
      stateDir,
      poolKeyFile: join(stateDir, 'pool.key'),
      ec2: { log: createLogger({}, { level: 'error', write: () => {} }), unit: '[Unit]\nDescription=test\n' },
    })) as Ec2Remoter;
    try {
      server.addInstance({ [TAG_POOL]: 'web', [TAG_CLOUD]: 'app' });
      expect(await remoter.list({ pool: 'web' })).toHaveLength(1);
      const launched = await remoter.launch({ cloud: 'app', count: 1, clientToken: 'pp-1-1-footprint', tags: {} });
      expect(launched).toHaveLength(1);
      expect(await remoter.list({ pool: 'web' })).toHaveLength(2);
    } finally {
      remoter.client.destroy();
    }
  });
});
