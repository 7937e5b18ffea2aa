import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../agent/agent.ts';
import { BundleStore } from '../agent/bundle/store.ts';
import { buildBundle } from '../shared/bundle/build.ts';
import { configureSchema } from '../shared/config/configure-schema.ts';
import { directory, file } from '../shared/resources/index.ts';
import { waitFor } from './fixtures/wait.ts';
import { TestPool } from './helpers/agents.ts';

type BundleView = { applied: string | null; state: string; target: string | null; error: string | null };

/**
 * The bundle named in an agent's config is applied at first boot, before any rollout: from the
 * local cache (where the provisioner uploads it), else pulled from peers, retried while nobody
 * holds it yet.
 */
describe('first-boot bundle from the agent config (real agents, itamae)', () => {
  let pool: TestPool;
  let work: string;

  const bundleView = async (a: Agent) => (await (await fetch(`${a.monitorUrl}/bundle`)).json()) as BundleView;

  async function bundle(name: string) {
    const root = join(work, name);
    const configure = configureSchema.parse({
      resources: [directory(root), file(`${root}/motd`, { content: `hello from ${name}\n` })],
      resolver: ['itamae'],
    });
    return buildBundle({ pool: pool.pool, cloud: 'web', definition: {}, configure, baseDir: work });
  }

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'poolparty-first-boot-'));
    pool = await TestPool.create();
  });

  afterAll(async () => {
    await pool?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('applies the cached bundle alone, then a new member pulls it from a peer', { timeout: 90_000 }, async () => {
    const b = await bundle('boot');
    // What the SSH provisioner does: the archive in the node's cache, its hash in the config.
    await new BundleStore(join(pool.dir, 'first')).put(b.sha256, b.bytes);
    const first = await pool.start('first', { bundle: { sha256: b.sha256 } });
    await waitFor('the first node applied its bundle', async () => (await bundleView(first)).applied === b.sha256, {
      timeoutMs: 60_000,
    });
    expect(await readFile(join(work, 'boot', 'motd'), 'utf8')).toBe('hello from boot\n');
    // What the leader hands to the instances it launches.
    expect(first.bundles?.desiredForNewMembers()).toBe(b.sha256);

    await rm(join(work, 'boot'), { recursive: true });
    const second = await pool.start('second', { bundle: { sha256: b.sha256 } });
    await waitFor('the second node applied it', async () => (await bundleView(second)).applied === b.sha256, {
      timeoutMs: 60_000,
    });
    expect(await new BundleStore(join(pool.dir, 'second')).has(b.sha256)).toBe(true);
    expect(await readFile(join(work, 'boot', 'motd'), 'utf8')).toBe('hello from boot\n');
  });

  it('retries a bundle nobody holds yet, and applies it once a peer has it', { timeout: 90_000 }, async () => {
    const b = await bundle('later');
    const third = await pool.start('third', { bundle: { sha256: b.sha256 } });
    await waitFor(
      'the fetch failed',
      async () => {
        const v = await bundleView(third);
        return v.state === 'failed' && /no peer served bundle/.test(v.error ?? '');
      },
      { timeoutMs: 30_000 },
    );
    expect((await bundleView(third)).applied).toBeNull();
    await new BundleStore(join(pool.dir, 'first')).put(b.sha256, b.bytes);
    await waitFor('the retried fetch applied it', async () => (await bundleView(third)).applied === b.sha256, {
      timeoutMs: 60_000,
    });
  });
});
