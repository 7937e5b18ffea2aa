import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs module of the build, without type declarations
import { applyRewrites, LOCALE_COMPARE_REWRITES, RewriteMismatchError } from '../scripts/code-unit-compare.mjs';
import { AGENT_NODE_FLAGS, agentNodeEnv } from '../shared/agent-node-flags.ts';
import { generatePoolKey } from '../shared/pool-key.ts';
import { waitFor } from './fixtures/wait.ts';
import { logLine, stopProcess, writeLoopbackConfig } from './helpers/agent-process.ts';

/**
 * The artifact's build rewrites libp2p's localeCompare sorts to a code-unit comparison
 * (scripts/code-unit-compare.mjs): the first localeCompare pages ICU collation data into every
 * agent (issue 13, RSS per idle follower). The build fails if a file no longer holds the expected
 * call; the built artifact holds the rewrite; and two agents of it form a pool without one
 * localeCompare call, which a preload that reports every call shows.
 *
 * The same build leaves out noise's WebAssembly cipher and hash (scripts/no-wasm-crypto.mjs; the
 * agent seals with node:crypto, agent/p2p/noise-crypto.ts): the artifact holds the stand-in, and
 * the two agents' handshakes and traffic compile none of its own, which the preload reports too.
 */

type Rewrite = { find: string; count: number; replace: string };
const TABLE = LOCALE_COMPARE_REWRITES as Record<string, Rewrite[]>;
const run = promisify(execFile);

/** Preload: every localeCompare call and every WebAssembly compile writes one stderr line with its stack (the real one still answers). */
const REPORT_CALLS = `data:text/javascript,${encodeURIComponent(
  'const real = String.prototype.localeCompare;' +
    'String.prototype.localeCompare = function (...a) {' +
    ' process.stderr.write("LOCALE-COMPARE " + JSON.stringify(new Error().stack) + "\\n");' +
    ' return real.apply(this, a); };' +
    // Every way to compile or instantiate WebAssembly from JavaScript.
    'for (const k of ["Module", "Instance", "compile", "instantiate", "validate"]) {' +
    ' const f = WebAssembly[k];' +
    ' const report = () => process.stderr.write("WEBASSEMBLY " + k + " " + JSON.stringify(new Error().stack) + "\\n");' +
    ' WebAssembly[k] = new Proxy(f, {' +
    '  construct(t, a, n) { report(); return Reflect.construct(t, a, n); },' +
    '  apply(t, self, a) { report(); return Reflect.apply(t, self, a); } }); }',
)}`;

/** Where node's bundled undici runs, in a stack. */
const UNDICI = 'node:internal/deps/undici/';

let dir: string;
let artifact: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'poolparty-ucompare-'));
  await run(process.execPath, ['scripts/build-artifact.mjs', '--outdir', join(dir, 'build')]);
  artifact = join(dir, 'build', 'poolparty-agent.mjs');
}, 120_000);

afterAll(async () => {
  await Promise.all(children.map(stopProcess));
  await rm(dir, { recursive: true, force: true });
});

describe('the localeCompare rewrite', () => {
  it('matches the installed libp2p files, and a file without the expected call fails the build', async () => {
    for (const [file, rewrites] of Object.entries(TABLE)) {
      const text = await readFile(resolve('node_modules', file), 'utf8');
      const out = applyRewrites(file, text, rewrites) as string;
      expect(out).not.toContain('localeCompare');
    }
    const [file, rewrites] = Object.entries(TABLE)[0] as [string, Rewrite[]];
    expect(() => applyRewrites(file, 'export const sort = (a, b) => a.localeCompare(b);', rewrites)).toThrow(
      RewriteMismatchError,
    );
  });

  it('the code-unit order sorts like localeCompare would where it matters: a total, deterministic order', () => {
    const [{ replace }] = TABLE['@libp2p/peer-store/dist/src/utils/to-peer-pb.js'] as [Rewrite];
    const cmp = new Function('a', 'b', replace) as (a: string, b: string) => number;
    const addrs = ['/ip4/127.0.0.1/tcp/4002', '/ip4/10.0.0.1/tcp/1', '/ip6/::1/tcp/9', '/ip4/127.0.0.1/tcp/4002'];
    expect([...addrs].sort(cmp)).toEqual([...addrs].sort());
    expect(cmp('a', 'a')).toBe(0);
  });

  it('the built artifact holds the rewritten sorts, not the peer store localeCompare calls', async () => {
    const text = await readFile(artifact, 'utf8');
    // Booleans, not toContain: a failure would print the whole 2.5 MB artifact.
    expect(text.includes('multiaddr.toString().localeCompare(')).toBe(false);
    // The minified rewrite: ((x,y)=>x<y?-1:x>y?1:0)(a.multiaddr.toString(), ...), once per call site.
    const rewritten = text.match(/\(\((\w+),(\w+)\)=>\1<\2\?-1:\1>\2\?1:0\)\(/g) ?? [];
    expect(rewritten.length).toBeGreaterThanOrEqual(4);
    expect(/\(\((\w+),(\w+)\)=>\1<\2\?-1:\1>\2\?1:0\)\(\w+\.multiaddr\.toString\(\)/.test(text)).toBe(true);
  });

  it("the built artifact holds the stand-in for noise's WebAssembly crypto, not the modules", async () => {
    const text = await readFile(artifact, 'utf8');
    expect(text.includes('NoWasmCryptoError')).toBe(true);
    expect(text.includes('new WebAssembly.Module(')).toBe(false);
    expect(text.includes('new WebAssembly.Instance(')).toBe(false);
  });

  it('two agents of the artifact form a pool without calling localeCompare or compiling WebAssembly', async () => {
    const keyFile = join(dir, 'pool.key');
    await writeFile(keyFile, generatePoolKey(), { mode: 0o600 });
    const stderr: string[] = ['', ''];
    const start = async (i: number, bootstrap: string[]) => {
      const config = await writeLoopbackConfig(dir, `n${i}`, { keyFile, bootstrap, heartbeatInterval: 200 });
      const child = spawn(
        process.execPath,
        [...AGENT_NODE_FLAGS, '--import', REPORT_CALLS, artifact, '--config', config],
        {
          cwd: dir,
          env: agentNodeEnv(process.env),
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      children.push(child);
      child.stderr?.setEncoding('utf8').on('data', (c: string) => {
        stderr[i] = `${stderr[i]}${c}`;
      });
      return (await logLine(child, 'agent-started', 60_000)) as { listen: string[]; monitor: string; peerId: string };
    };
    const seed = await start(0, []);
    const follower = await start(1, seed.listen);
    // Both see both, each with the other's addresses and protocols in its peer store (identify has
    // run both ways), which is where libp2p sorted with localeCompare.
    for (const agent of [seed, follower]) {
      await waitFor(
        'each agent to see the other alive and a leader',
        async () => {
          const r = await fetch(`${agent.monitor}/cluster`, { signal: AbortSignal.timeout(2000) });
          const view = (await r.json()) as { leader: unknown; members: { state: string }[] };
          return view.leader !== null && view.members.filter((m) => m.state === 'alive').length === 2 ? view : null;
        },
        { timeoutMs: 60_000 },
      );
    }
    expect(
      stderr
        .join('')
        .split('\n')
        // Node's own fetch (undici, loaded by the monitor's first request, which this test makes)
        // compiles its HTTP parser: WebAssembly, but not the artifact's.
        .filter((l) => l.startsWith('LOCALE-COMPARE') || (l.startsWith('WEBASSEMBLY') && !l.includes(UNDICI))),
    ).toEqual([]);
  }, 180_000);
});
