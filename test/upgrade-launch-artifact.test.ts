import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { lutimes, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildArtifact } from '../scripts/build-artifact.mjs';
import { parsePool } from '../shared/config/load.ts';
import { LocalRemoter } from '../shared/remoter/local.ts';
import { localAgentBin, storedArtifactSha } from '../shared/remoter/local-agent-bin.ts';
import { PackageRootError } from '../shared/remoter/package-root.ts';
import { RemoterError } from '../shared/remoter/types.ts';
import { describeArtifact, signManifest } from '../shared/upgrade/manifest.ts';
import { VERSION } from '../shared/version.ts';
import { killMatching, randomLoopbackBase, rootPidsMatching } from './fixtures/procs.ts';
import { waitFor } from './fixtures/wait.ts';

// Issue 19: a local-pool leader that was upgraded runs its artifact out of its upgrade store, with
// no package above it and the old POOLPARTY_AGENT_BIN inherited from its launcher. It must still
// launch, and what it launches must be the version the pool runs now.
let root: string;
let running: string;
let sha: string;
const V2 = `${VERSION}-launch.2`;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'poolparty-upgrade-launch-'));
  const built = await buildArtifact({ outdir: join(root, 'art') });
  // The artifact as a member's upgrade store keeps it: bytes, and the signed manifest beside them.
  const bytes = await readFile(built.file);
  const key = generateKeyPairSync('ed25519').privateKey;
  const signed = signManifest(
    describeArtifact(bytes, { pool: 'lnch', version: V2, builtAt: 1, issuedAt: Date.now() }),
    key,
  );
  sha = signed.manifest.sha256;
  const dir = join(root, 'leader', 'data', 'upgrade', 'artifacts', sha);
  await mkdir(dir, { recursive: true });
  running = join(dir, 'poolparty-agent.mjs');
  await writeFile(running, bytes);
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(signed));
}, 180_000);

afterAll(async () => {
  if (!root) return;
  await killMatching(root);
  await rm(root, { recursive: true, force: true, maxRetries: 5 });
});

const noPackage = () => {
  throw new PackageRootError('no package here');
};

describe('what a local remoter launches', () => {
  it('an upgraded leader: a pool copy of its own artifact, before the env and the package', async () => {
    const dir = join(root, 'pick', 'local');
    const env = { POOLPARTY_AGENT_BIN: '/old/bin/poolparty-agent.mjs' };
    const file = await localAgentBin({ env, running, dir });
    expect(file).toBe(join(dir, 'artifacts', sha, 'poolparty-agent.mjs'));
    expect(readFileSync(file).equals(readFileSync(running))).toBe(true);
    expect(existsSync(join(dir, 'artifacts', sha, 'manifest.json'))).toBe(true);
    // An agent started from that copy is itself an upgraded artifact, and launches the same file.
    expect(storedArtifactSha(file)).toBe(sha);
    expect(await localAgentBin({ env, running: file, dir })).toBe(file);
    // The caller's choice still wins.
    expect(await localAgentBin({ agentBin: '/x.mjs', env, running, dir })).toBe('/x.mjs');
  });

  it('not upgraded: the env, the package, then the artifact it runs as; else a clear error', async () => {
    const dir = join(root, 'pick2', 'local');
    const plain = join(root, 'art', 'poolparty-agent.mjs'); // an artifact outside any store
    expect(storedArtifactSha(plain)).toBeNull();
    expect(await localAgentBin({ env: { POOLPARTY_AGENT_BIN: '/e.mjs' }, running: plain, dir })).toBe('/e.mjs');
    expect(await localAgentBin({ env: {}, running: plain, dir })).toBe(resolve('bin', 'poolparty-agent.mjs'));
    expect(await localAgentBin({ env: {}, running: plain, dir, packageRoot: noPackage })).toBe(plain);
    await expect(localAgentBin({ env: {}, dir, packageRoot: noPackage })).rejects.toThrow(RemoterError);
    expect(existsSync(join(dir, 'artifacts'))).toBe(false);
  });

  it('during a --rollback it was told of and has not returned for: what it returns to', async () => {
    const dir = join(root, 'pick3', 'local');
    const store = join(root, 'leader', 'data', 'upgrade');
    const old = join(root, 'old', 'poolparty-agent.mjs');
    await mkdir(dirname(old), { recursive: true });
    await writeFile(old, '// the agent the pool was bootstrapped with\n');
    await symlink(running, join(store, 'current.mjs'));
    await symlink(old, join(store, 'previous.mjs'));
    const notice = (issuedAt: number, more: Record<string, unknown> = {}) =>
      writeFile(join(store, 'rollback.json'), JSON.stringify({ signed: { request: { issuedAt } }, ...more }));
    const copy = join(dir, 'artifacts', sha, 'poolparty-agent.mjs');
    try {
      await notice(Date.now(), { id: 'r', gateMs: 1000 });
      // A link written at the same instant as the notice counts as before it.
      await lutimes(join(store, 'current.mjs'), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
      expect(await localAgentBin({ env: {}, running, dir })).toBe(old);
      // Returned already (this leader then no longer runs the artifact), or the run long over: as before.
      await notice(Date.now(), { returnedAt: 5 });
      expect(await localAgentBin({ env: {}, running, dir })).toBe(copy);
      await notice(Date.now() - 2 * 3_600_000);
      expect(await localAgentBin({ env: {}, running, dir })).toBe(copy);
      // Upgraded again since it was told (current.mjs re-pointed after the notice): the new artifact.
      await notice(Date.now() - 120_000);
      await lutimes(join(store, 'rollback.json'), new Date(Date.now() - 120_000), new Date(Date.now() - 120_000));
      await lutimes(join(store, 'current.mjs'), new Date(), new Date());
      expect(await localAgentBin({ env: {}, running, dir })).toBe(copy);
    } finally {
      for (const f of ['current.mjs', 'previous.mjs', 'rollback.json']) await rm(join(store, f), { force: true });
    }
  });

  it('a remoter built as the upgraded artifact launches an agent that comes up on the new version', {
    timeout: 180_000,
  }, async () => {
    const stateDir = join(root, 'state');
    const pool = parsePool(
      {
        name: 'lnch',
        clouds: {
          web: { instances: { min: 1, max: 2 }, using: { provider: 'local', firstAddress: randomLoopbackBase() } },
        },
      },
      'test.json',
    );
    // The env the pool's launcher handed its agents names the package's (old) agent.
    const env = { ...process.env, POOLPARTY_AGENT_BIN: resolve('bin', 'poolparty-agent.mjs') };
    const remoter = new LocalRemoter({ pool, cloud: 'web', stateDir, env }, running);
    const [inst] = await remoter.launch({ cloud: 'web', count: 1, clientToken: 'after-upgrade' });
    expect(inst?.monitor).toBeDefined();
    const health = await waitFor(
      'the launched agent answering /health',
      async () => {
        const res = await fetch(`${inst?.monitor}/health`, { signal: AbortSignal.timeout(2000) }).catch(() => null);
        return res?.ok ? ((await res.json()) as { version: string }) : null;
      },
      { timeoutMs: 120_000, everyMs: 500 },
    );
    expect(health.version).toBe(V2);
    const copy = join(stateDir, 'local', 'artifacts', sha, 'poolparty-agent.mjs');
    expect(rootPidsMatching(copy)).toHaveLength(1);
    await remoter.terminate([inst?.id as string]);
    expect(rootPidsMatching(copy)).toEqual([]);
  });
});
