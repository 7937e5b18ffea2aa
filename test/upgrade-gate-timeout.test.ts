import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../shared/version.ts';
import type { ClusterView } from '../shared/wire/cluster.ts';
import { waitFor } from './fixtures/wait.ts';
import { withReadiness } from './helpers/upgrade-artifacts.ts';
import { UpgradePoolFixture } from './helpers/upgrade-pool-fixture.ts';
import { getJson, oneLeader, type UpgradeNodeView } from './helpers/upgrade-views.ts';

// Issue 19, the health gate's timeout on real agents: an artifact that starts, joins and gossips
// but never becomes ready. The member that tries it returns to the previous artifact by itself
// once the gate (the cloud's upgradeGate tunable, 20 s here) runs out, the rollout halts pool-wide
// and /upgrade on the leader names the member and the reason.
let fx: UpgradePoolFixture;
let neverReady: string;
const NEVER = `${VERSION}-never-ready`;
const GATE_MS = 20_000;

beforeAll(async () => {
  fx = await UpgradePoolFixture.start({ name: 'upgt', min: 3, max: 3, cloudFields: "agent: { upgradeGate: '20s' }" });
  neverReady = await fx.artifact('never-ready', {
    version: NEVER,
    bytes: withReadiness(await readFile(fx.built), 'false'),
  });
}, 600_000);

afterAll(async () => {
  await fx?.stop();
});

describe('an upgrade to an agent that never becomes ready, on a real local pool of 3', () => {
  it('the member goes back by itself after the gate, the rollout halts, /upgrade says where and why', {
    timeout: 300_000,
  }, async () => {
    await oneLeader(fx.monitors, 3);
    // Sampled all along: the new agent ran, and other members saw it alive, on its version.
    let seenAlive = false;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const m of fx.monitors) {
          const c = await getJson<ClusterView>(`${m}/cluster`).catch(() => null);
          if (c?.members.some((x) => x.version === NEVER && x.state === 'alive' && x.peerId !== c.self))
            seenAlive = true;
        }
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    // No --gate: the gate is the cloud's upgradeGate tunable.
    const r = await fx.cli('upgrade', '-c', fx.pool.config, '--artifact', neverReady, '--yes', '--json');
    sampling = false;
    await sampler;
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const why = `rolled back: the new agent was not ready within ${GATE_MS} ms`;
    const named = new RegExp(`halted at (local-\\d+): ${why}`).exec(r.stderr);
    expect(named, r.stderr).not.toBeNull();
    const member = named?.[1] as string;
    expect(seenAlive).toBe(true);

    // Every node on the old agent and ready; only that member tried it, and it says why it went back.
    const views = await waitFor(
      'every node back on the old version and ready',
      async () => {
        const all = await Promise.all(fx.monitors.map((m) => getJson<UpgradeNodeView>(`${m}/upgrade`)));
        return all.every((v) => v.self.version === VERSION && v.self.sha256 === null && v.self.ready) ? all : null;
      },
      { timeoutMs: 120_000, everyMs: 1000 },
    );
    const tried = views.filter((v) => v.self.last !== null);
    expect(tried).toHaveLength(1);
    expect(tried[0]?.self.last).toMatchObject({ ok: false, reason: expect.stringContaining('not ready within') });
    // The leader's /upgrade: halted at that member, for that reason; nobody else restarted.
    const leading = views.filter((v) => v.rollout?.leading);
    expect(leading).toHaveLength(1);
    expect(leading[0]?.rollout?.halted).toMatchObject({
      instanceId: member,
      reason: expect.stringContaining(`not ready within ${GATE_MS} ms`),
    });
    const phases = (leading[0]?.rollout?.members ?? []).map((m) => m.phase);
    expect(phases.filter((p) => p === 'failed')).toHaveLength(1);
    expect(phases).not.toContain('done');
    expect(phases).not.toContain('restarting');
  });
  it("a push's --gate is the gate the member judges its new agent by, not its own tunable", {
    timeout: 300_000,
  }, async () => {
    // Other bytes (another sha256) than the first push: a new rollout, not the halted one again.
    const again = await fx.artifact('never-ready-2', {
      version: NEVER,
      bytes: Buffer.concat([withReadiness(await readFile(fx.built), 'false'), Buffer.from('\n// again\n')]),
    });
    const r = await fx.cli('upgrade', '-c', fx.pool.config, '--artifact', again, '--gate', '10s', '--yes', '--json');
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toMatch(/halted at local-\d+: rolled back: the new agent was not ready within 10000 ms/);
  });
});
