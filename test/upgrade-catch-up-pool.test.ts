import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATCH_UP_REASON } from '../agent/upgrade/catch-up.ts';
import { readUpgradeKey } from '../shared/upgrade/key.ts';
import { describeArtifact, signManifest } from '../shared/upgrade/manifest.ts';
import { VERSION } from '../shared/version.ts';
import type { ClusterView, HealthView, PoolEvent } from '../shared/wire/cluster.ts';
import { waitFor } from './fixtures/wait.ts';
import { UpgradePoolFixture } from './helpers/upgrade-pool-fixture.ts';
import { getJson, type UpgradeNodeView } from './helpers/upgrade-views.ts';

// Issue 19: a member that joins after a rollout completed, running its install (as every instance
// an EC2 or vsphere leader launches does, and one the CLI launches here), is brought to what the
// pool runs by the leader, one at a time through the gate, at any time; a member that runs another
// stored artifact (someone's choice) is left alone. A real local pool, the CLI launching members.
let fx: UpgradePoolFixture;
let rebuild: string;
/** Every node's monitor: bootstrap's, then those launched here. */
const monitors: string[] = [];
const [major, minor, patch] = VERSION.split('-')[0]?.split('.').map(Number) ?? [];
// A version after the install's: a member is caught up only when its install is not newer.
const VT = `${major}.${minor}.${(patch ?? 0) + 1}-catchup`;

type CatchUpView = { catchUp: { sha256: string; members: Record<string, string>; halted: unknown } | null };
const upgradeOf = (monitor: string) => getJson<UpgradeNodeView & CatchUpView>(`${monitor}/upgrade`);

/** Raises the cloud's min in clouds.ts, so `bootstrap` launches one more instance from the laptop. */
async function launchOne(min: number, agentBin?: string): Promise<string> {
  const source = await readFile(fx.pool.config, 'utf8');
  await writeFile(fx.pool.config, source.replace(/min: \d+, max: 4/, `min: ${min}, max: 4`));
  if (agentBin) fx.pool.env.POOLPARTY_AGENT_BIN = agentBin;
  try {
    const r = await fx.cli('bootstrap', '-c', fx.pool.config, '--no-wait', '--json');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const launched = (JSON.parse(r.stdout) as { launched: Array<{ monitor: string }> }).launched;
    expect(launched).toHaveLength(1);
    monitors.push(launched[0]?.monitor as string);
    return launched[0]?.monitor as string;
  } finally {
    delete fx.pool.env.POOLPARTY_AGENT_BIN;
  }
}

beforeAll(async () => {
  fx = await UpgradePoolFixture.start({ name: 'upgc', min: 2, max: 4 });
  rebuild = await fx.artifact('t', { version: VT });
  monitors.push(...fx.monitors);
}, 600_000);

afterAll(async () => {
  await fx?.stop();
});

describe('members launched on their install after a rollout, on a real local pool', () => {
  let sha = '';

  it('a member started from the install is brought to the rebuild by the leader', { timeout: 600_000 }, async () => {
    const r = await fx.cli('upgrade', '-c', fx.pool.config, '--artifact', rebuild, '--gate', '60s', '--yes', '--json');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    sha = (await upgradeOf(fx.monitors[0] as string)).self.sha256 as string;
    expect(sha).toMatch(/^[0-9a-f]{64}$/);
    // The upgraded leader restarts last and counts itself done only once its gate is over, so the
    // rollout is completed by the leader after it (a resumed rollout), a moment after the CLI's exit
    // 0. A member launched before that is taken by the resumed rollout, not by a catch-up: the
    // catch-up is for members launched after a completed rollout.
    await waitFor(
      'the rollout completed on the pool',
      async () => {
        for (const m of monitors) {
          const h = await getJson<{ events: PoolEvent[] }>(`${m}/history`).catch(() => null);
          if (h?.events.some((e) => e.type === 'upgrade-complete' && e.sha === sha)) return true;
        }
        return null;
      },
      { timeoutMs: 180_000, everyMs: 1000 },
    );
    const joined = await launchOne(3);
    const after = await waitFor(
      'the new member on the rebuild, ready, its gate over',
      async () => {
        const v = await upgradeOf(joined).catch(() => null);
        return v?.self.sha256 === sha && v.self.ready && v.self.last ? v : null;
      },
      { timeoutMs: 300_000, everyMs: 1000 },
    );
    // Started on the install (the CLI launched the package's agent), restarted once into the rebuild.
    expect(after.self.last).toMatchObject({ sha256: sha, ok: true });
    expect((await getJson<HealthView>(`${joined}/health`)).version).toBe(VT);
    // The leader said so on its event stream, as a rollout does: started (with why), the member's
    // phases, complete.
    const told = await waitFor('the catch-up told on the leader', async () => {
      for (const m of monitors) {
        const h = await getJson<{ events: PoolEvent[] }>(`${m}/history`).catch(() => null);
        const mine = h?.events.filter((e) => e.type.startsWith('upgrade-') && (e as { sha: string }).sha === sha) ?? [];
        const from = mine.findIndex((e) => (e as { reason?: string }).reason === CATCH_UP_REASON);
        const tail = from < 0 ? [] : mine.slice(from);
        if (tail.some((e) => e.type === 'upgrade-complete')) return tail;
      }
      return null;
    });
    const phases = told.flatMap((e) => (e.type === 'upgrade-progress' ? [e.phase] : []));
    expect(phases).toEqual(['staged', 'restarting', 'done']);
    expect(told.at(-1)).toMatchObject({ type: 'upgrade-complete', members: 1 });
  });

  it('a member on another stored artifact is left alone, whatever its version', { timeout: 300_000 }, async () => {
    // Another signed artifact, kept as a store keeps it (artifacts/<sha256>/ with its manifest),
    // signed for an OLDER version than the pool's: only its being someone's choice keeps it there.
    const bytes = Buffer.concat([await readFile(fx.built), Buffer.from('\n// other choice\n')]);
    const key = await readUpgradeKey(fx.pool.stateDir);
    const meta = { pool: 'upgc', version: `${VERSION}-other`, builtAt: 1, issuedAt: Date.now() };
    const signed = signManifest(describeArtifact(bytes, meta), key.privateKey);
    const dir = join(fx.pool.dir, 'other', 'artifacts', signed.manifest.sha256);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'poolparty-agent.mjs'), bytes);
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(signed));
    const other = await launchOne(4, join(dir, 'poolparty-agent.mjs'));
    const peer = await waitFor('the other member up', async () => {
      const c = await getJson<ClusterView>(`${other}/cluster`).catch(() => null);
      return c?.self ?? null;
    });
    // The leader asked it and judged it: another artifact.
    await waitFor(
      'the leader sees it on another artifact',
      async () => {
        for (const m of monitors) {
          const v = await upgradeOf(m).catch(() => null);
          if (v?.catchUp?.members[peer] === 'other-artifact') return true;
        }
        return null;
      },
      { timeoutMs: 120_000, everyMs: 1000 },
    );
    const v = await upgradeOf(other);
    expect(v.self).toMatchObject({ sha256: signed.manifest.sha256, last: null });
    expect((await getJson<HealthView>(`${other}/health`)).version).toBe(`${VERSION}-other`);
  });
});
