import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { multiaddr } from '@multiformats/multiaddr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDialerNode } from '../cli/dialer-node.ts';
import { pushUpgrade } from '../cli/upgrade/push.ts';
import { poolKeyFile } from '../shared/config/resolve.ts';
import { generatePoolKey, readPoolKey } from '../shared/pool-key.ts';
import { readUpgradeKey } from '../shared/upgrade/key.ts';
import { describeArtifact, signManifest } from '../shared/upgrade/manifest.ts';
import { UPGRADE_PROTOCOL } from '../shared/upgrade/protocol.ts';
import { VERSION } from '../shared/version.ts';
import { FrameReader, line, sendAll } from '../shared/wire/bundle-transfer.ts';
import type { ClusterView, HealthView } from '../shared/wire/cluster.ts';
import { pidsMatching } from './fixtures/procs.ts';
import { waitFor } from './fixtures/wait.ts';
import { UpgradePoolFixture } from './helpers/upgrade-pool-fixture.ts';
import { getJson as get } from './helpers/upgrade-views.ts';

// A real local pool of 5 agents upgraded by `poolparty upgrade`: outsiders and bad artifacts are
// refused by every agent, a broken artifact is rolled back on the first node and halts the
// rollout, and a good one reaches every node one at a time with the pool never below 4 healthy.
let fx: UpgradePoolFixture;
let pool: UpgradePoolFixture['pool'];
let monitors: string[] = [];
let v2: string;
let broken: string;
const V2 = `${VERSION}-upgrade.2`;

const health = (m: string) => get<HealthView>(`${m}/health`);
const upgradeView = (m: string) =>
  get<{ self: { version: string; sha256: string | null; held: string[]; ready: boolean; last: unknown } }>(
    `${m}/upgrade`,
  );

/** The leader as the first answering monitor sees it. */
async function leader(): Promise<{ peerId: string; addrs: string[] }> {
  return waitFor('a leader', async () => {
    for (const m of monitors) {
      const view = await get<ClusterView>(`${m}/cluster`).catch(() => null);
      const l = view?.members.find((x) => x.peerId === view.leader?.peerId && x.state === 'alive');
      if (l) return { peerId: l.peerId, addrs: l.addrs };
    }
    return null;
  });
}

beforeAll(async () => {
  // Five fixed members: no scaling moves the count while the test watches it. A rebuild told
  // apart by its bytes and the version its manifest names, and an artifact that exits at start.
  fx = await UpgradePoolFixture.start({ name: 'upgr', min: 5, max: 5 });
  pool = fx.pool;
  monitors = fx.monitors;
  v2 = await fx.artifact('v2', { version: V2 });
  broken = await fx.artifact('broken', { version: `${VERSION}-broken`, bytes: 'process.exit(3);\n' });
}, 600_000);

afterAll(async () => {
  await fx?.stop();
});

describe('poolparty upgrade on a real local pool of 5 agents', () => {
  it('refuses outsiders: no pool key, a wrong upgrade key, tampered or unsigned artifacts, a member asked directly', {
    timeout: 180_000,
  }, async () => {
    const l = await leader();
    const bytes = await readFile(v2);
    const meta = { pool: 'upgr', version: V2, builtAt: 1, issuedAt: Date.now() };
    const to = { poolKeyFile: poolKeyFile(pool.stateDir), leaderPeerId: l.peerId, leaderAddrs: l.addrs };
    const key = await readUpgradeKey(pool.stateDir);
    const { generateKeyPairSync } = await import('node:crypto');
    const otherKey = generateKeyPairSync('ed25519').privateKey;

    // Asked of the leader the monitors name, again while that view lags the election.
    const refusal = (push: Parameters<typeof pushUpgrade>[1]) =>
      waitFor(
        "the leader's answer",
        async () => {
          const at = await leader();
          try {
            await pushUpgrade({ ...to, leaderPeerId: at.peerId, leaderAddrs: at.addrs }, push);
            return 'accepted';
          } catch (err) {
            if (/not the leader/.test((err as Error).message)) throw err;
            return (err as Error).message;
          }
        },
        { timeoutMs: 60_000, everyMs: 500 },
      );
    const wrongKey = signManifest(describeArtifact(bytes, meta), otherKey);
    expect(await refusal({ signed: wrongKey, bytes })).toMatch(/not signed by the pool upgrade key/);
    const flipped = Buffer.from(bytes);
    flipped[100] = (flipped[100] ?? 0) ^ 1;
    const good = signManifest(describeArtifact(bytes, meta), key.privateKey);
    expect(await refusal({ signed: good, bytes: flipped })).toMatch(/sha256/);
    expect(await refusal({ signed: undefined as never, bytes })).toMatch(/refused: unsigned/);
    // A validly signed push replayed after its hour (a downgrade by a pool-key holder) is refused.
    const old = signManifest(
      describeArtifact(bytes, { ...meta, issuedAt: Date.now() - 2 * 3_600_000 }),
      key.privateKey,
    );
    expect(await refusal({ signed: old, bytes })).toMatch(/refused: signed 120 min ago/);
    // Without the pool key nobody completes a handshake at all.
    const strangerKey = join(pool.dir, 'stranger.key');
    await writeFile(strangerKey, generatePoolKey());
    await expect(
      pushUpgrade({ ...to, poolKeyFile: strangerKey, dialTimeout: 3000 }, { signed: good, bytes }),
    ).rejects.toThrow(/cannot reach the leader/);

    // A pool-key holder that is not the leader asks a member directly: refused before any fetch.
    const node = await createDialerNode({ poolKey: await readPoolKey(poolKeyFile(pool.stateDir)) });
    try {
      const cluster = await get<ClusterView>(`${monitors[1]}/cluster`);
      const now = await leader();
      const member = cluster.members.find(
        (m) => m.peerId !== now.peerId && m.state === 'alive',
      ) as ClusterView['members'][number];
      const stream = await node.dialProtocol(multiaddr(`${member.addrs[0]}/p2p/${member.peerId}`), UPGRADE_PROTOCOL);
      await sendAll(stream, line({ type: 'stage', signed: good, holders: [] }));
      const answer = await new FrameReader(stream).header();
      expect(answer).toMatchObject({ ok: false, error: expect.stringMatching(/only the leader this agent follows/) });
    } finally {
      await node.stop();
    }
    for (const m of monitors) {
      expect((await health(m)).version).toBe(VERSION);
      expect((await upgradeView(m)).self.held).toEqual([]);
    }
  });

  it('a broken artifact (exits at start) is rolled back on the first node and the pool stays on the old version', {
    timeout: 400_000,
  }, async () => {
    const r = await pool.cli('upgrade', '-c', pool.config, '--artifact', broken, '--gate', '30s', '--yes', '--json');
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toMatch(/halted at local-\d+: rolled back: the new agent exited \(code 3\) before it was ready/);
    // The CLI showed the rollout's events as the leader streamed them: the node that tried it.
    expect(r.stderr).toMatch(/upgrade-progress\s+local-\d+\s+\S+\s+restarting /);
    const all = await waitFor(
      'every node back on the old version and ready',
      async () => {
        const views = await Promise.all(monitors.map(upgradeView));
        return views.every((v) => v.self.version === VERSION && v.self.sha256 === null && v.self.ready) ? views : null;
      },
      { timeoutMs: 120_000, everyMs: 1000 },
    );
    // Exactly one node tried it and says why it went back.
    const tried = all.filter((v) => v.self.last !== null);
    expect(tried).toHaveLength(1);
    expect(tried[0]?.self.last).toMatchObject({ ok: false, reason: expect.stringMatching(/exited \(code 3\)/) });
  });

  it('a rebuilt artifact reaches every node, one at a time: never fewer than 4 of 5 healthy, mixed versions in one pool', {
    timeout: 600_000,
  }, async () => {
    let fewest = 5;
    const versionsSeen = new Set<string>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const seen = await Promise.all(monitors.map((m) => health(m).catch(() => null)));
        fewest = Math.min(fewest, seen.filter((h) => h !== null).length);
        const view = await get<ClusterView>(`${monitors.find((_, i) => seen[i])}/cluster`).catch(() => null);
        for (const m of view?.members ?? []) if (m.state === 'alive') versionsSeen.add(m.version);
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    const r = await pool.cli('upgrade', '-c', pool.config, '--artifact', v2, '--gate', '90s', '--yes', '--json');
    sampling = false;
    await sampler;
    expect(r.code, r.stdout + r.stderr).toBe(0);
    for (const m of monitors) expect((await health(m)).version).toBe(V2);
    // Each member's restart and its return came on the leader's event stream, shown as they came.
    const events = (JSON.parse(r.stdout) as { events: Array<{ type: string; phase?: string; instanceId?: string }> })
      .events;
    const told = (phase: string) =>
      new Set(events.filter((e) => e.type === 'upgrade-progress' && e.phase === phase).map((e) => e.instanceId));
    expect(told('restarting').size).toBeGreaterThanOrEqual(4);
    expect(told('done').size).toBeGreaterThanOrEqual(4);
    expect(r.stderr).toMatch(/upgrade-progress\s+local-\d+\s+\S+\s+done /);
    expect(fewest).toBeGreaterThanOrEqual(4);
    // Old and new agents were members of one pool at the same time, and a leader is elected after.
    expect([...versionsSeen].sort()).toEqual([VERSION, V2].sort());
    await leader();
    // The previous agent stays on disk for a rollback.
    const views = await Promise.all(monitors.map(upgradeView));
    expect(views.every((v) => v.self.held.length >= 1)).toBe(true);
  });

  it('--rollback returns every node to the agent it ran before, one at a time, leader last', {
    timeout: 400_000,
  }, async () => {
    const r = await pool.cli('upgrade', '-c', pool.config, '--rollback', '--yes', '--json');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // Followed like an upgrade: the run's events as the leader streamed them, shown as they came.
    const events = (JSON.parse(r.stdout) as { events: Array<{ type: string; phase?: string; instanceId?: string }> })
      .events;
    const returned = new Set(
      events.filter((e) => e.type === 'upgrade-progress' && e.phase === 'done').map((e) => e.instanceId),
    );
    expect(returned.size).toBeGreaterThanOrEqual(4);
    expect(events.map((e) => e.type)).toContain('upgrade-complete');
    expect(r.stderr).toMatch(/upgrade-progress\s+local-\d+\s+\S+\s+restarting previous agent/);
    await waitFor(
      'every node back on the version before the upgrade',
      async () => (await Promise.all(monitors.map(health))).every((h) => h.version === VERSION),
      { timeoutMs: 300_000, everyMs: 1000 },
    );
    await leader();
  });

  it('terminate ends every supervisor and the agent it runs', { timeout: 120_000 }, async () => {
    const r = await pool.cli('terminate', '-c', pool.config, '--yes');
    expect(r.code, r.stderr).toBe(0);
    expect(pidsMatching(pool.stateDir)).toEqual([]);
  });
});
