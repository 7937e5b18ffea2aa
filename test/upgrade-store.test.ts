import { mkdtemp, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UpgradeMember } from '../agent/upgrade/member.ts';
import { ArtifactStore } from '../agent/upgrade/store.ts';
import type { SignedManifest } from '../shared/upgrade/manifest.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const signed = (n: number): SignedManifest => ({
  manifest: { pool: 'p', version: `v${n}`, sha256: String(n).repeat(64), size: 1, builtAt: 0, issuedAt: 0 },
  signature: 'x',
});

describe("artifact store (a node's <dataDir>/upgrade)", () => {
  it('keeps what runs and what it would roll back to; activation, rollback and pruning move the symlinks', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pp-upgrade-store-'));
    dirs.push(dir);
    const store = new ArtifactStore(dir);
    for (const n of [1, 2, 3]) await store.put(signed(n), Buffer.from(`artifact ${n}`));
    expect(await store.held()).toEqual(['1', '2', '3'].map((c) => c.repeat(64)));
    expect((await store.read('2'.repeat(64)))?.toString()).toBe('artifact 2');
    expect(await store.signed('3'.repeat(64))).toEqual(signed(3));
    expect(await store.current()).toBeNull();

    // The first activation: previous is the file the process was started from.
    const trial = await store.activate('1'.repeat(64), '/opt/poolparty/poolparty-agent.mjs', 5000, 10);
    expect(trial).toEqual({
      sha256: '1'.repeat(64),
      previous: '/opt/poolparty/poolparty-agent.mjs',
      startedAt: 10,
      gateMs: 5000,
    });
    expect(await store.trial()).toEqual(trial);
    expect(await readlink(store.currentLink)).toBe(store.artifactPath('1'.repeat(64)));
    expect(await store.previous()).toBe('/opt/poolparty/poolparty-agent.mjs');

    await store.activate('2'.repeat(64), store.artifactPath('1'.repeat(64)), 5000, 20);
    expect(await store.previous()).toBe(store.artifactPath('1'.repeat(64)));
    // 3 is named by neither link: pruned; 1 (previous) and 2 (current) stay.
    expect(await store.prune()).toEqual(['3'.repeat(64)]);
    expect(await store.held()).toEqual(['1'.repeat(64), '2'.repeat(64)]);

    expect(await store.rollback()).toBe(store.artifactPath('1'.repeat(64)));
    expect(await store.current()).toBe(store.artifactPath('1'.repeat(64)));
    expect(await store.previous()).toBe(store.artifactPath('2'.repeat(64)));
    await store.writeOutcome({ sha256: '2'.repeat(64), ok: false, reason: 'exited', at: 30 });
    expect(await store.outcome()).toEqual({ sha256: '2'.repeat(64), ok: false, reason: 'exited', at: 30 });
    await store.writeTrial(null);
    expect(await store.trial()).toBeNull();
  });

  it('keeps the rollout plan a new leader continues; forgets it when told; a malformed one reads as none', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pp-upgrade-plan-'));
    dirs.push(dir);
    const store = new ArtifactStore(dir);
    expect(await store.plan()).toBeNull();
    const plan = { sha256: '4'.repeat(64), version: 'v4', startedAt: 100, gateMs: 5000, maxUnavailable: 1 };
    await store.writePlan(plan);
    expect(await store.plan()).toEqual(plan);
    await writeFile(join(dir, 'upgrade', 'rollout.json'), JSON.stringify({ ...plan, gateMs: -1 }));
    expect(await store.plan()).toBeNull();
    await writeFile(join(dir, 'upgrade', 'rollout.json'), '{not json');
    expect(await store.plan()).toBeNull();
    await store.writePlan(plan);
    await store.writePlan(null);
    expect(await store.plan()).toBeNull();
  });

  it('reads the plan again only when the file changed (a leader looks at it every tick)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pp-upgrade-plan-cache-'));
    dirs.push(dir);
    const store = new ArtifactStore(dir);
    const plan = { sha256: '5'.repeat(64), version: 'v5', startedAt: 100, gateMs: 5000, maxUnavailable: 1 };
    await store.writePlan(plan);
    const first = await store.plan();
    expect(first).toEqual(plan);
    // The same parsed object: not read and parsed again.
    expect(await store.plan()).toBe(first);
    await store.writePlan({ ...plan, version: 'v6' });
    const second = await store.plan();
    expect(second).toEqual({ ...plan, version: 'v6' });
    expect(await store.plan()).toBe(second);
    // Another writer's file (rewritten in place) is seen too.
    await writeFile(join(dir, 'upgrade', 'rollout.json'), JSON.stringify({ ...plan, version: 'v7!' }));
    expect(await store.plan()).toEqual({ ...plan, version: 'v7!' });
    await store.writePlan(null);
    expect(await store.plan()).toBeNull();
  });

  it('a member told the rollout was announced complete notes it in its plan, from its leader only', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pp-upgrade-announced-'));
    dirs.push(dir);
    const store = new ArtifactStore(dir);
    const plan = { sha256: '6'.repeat(64), version: 'v6', startedAt: 100, gateMs: 5000, maxUnavailable: 1 };
    await store.writePlan(plan);
    const member = new UpgradeMember({
      store,
      publicKey: 'a key',
      selfPeerId: 'M',
      leader: () => 'L',
      now: () => 777,
    } as unknown as ConstructorParameters<typeof UpgradeMember>[0]);
    expect(await member.answer({ type: 'announced', sha256: plan.sha256 }, 'X')).toMatchObject({ ok: false });
    expect(await store.plan()).toEqual(plan);
    expect(await member.answer({ type: 'announced', sha256: '7'.repeat(64) }, 'L')).toMatchObject({ ok: true });
    expect(await store.plan()).toEqual(plan);
    expect(await member.answer({ type: 'announced', sha256: plan.sha256 }, 'L')).toMatchObject({ ok: true });
    expect(await store.plan()).toEqual({ ...plan, announcedAt: 777 });
    // It survives a restart: the next process reads it from disk.
    expect(await new ArtifactStore(dir).plan()).toEqual({ ...plan, announcedAt: 777 });
  });

  it('refuses a hash that is not a sha256 digest before touching the disk', async () => {
    const store = new ArtifactStore(tmpdir());
    expect(() => store.artifactPath('../../etc')).toThrow(/not a sha256 hex digest/);
  });
});
