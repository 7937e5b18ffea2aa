// How long a real local pool goes without a leader while `poolparty upgrade` rolls a rebuilt
// agent over it (each member restarts through its gate, the leader last), beside the time a plain
// leader failover takes (SIGKILL of the leader) on the same pool. Issue 19: "no lost leadership
// for more than the failover time". Usage: HELP below.
// Prints one JSON object on stdout (with the 1-minute load average: the figures are only as quiet
// as the machine was). No assertion: the numbers are the result.
import '../../shared/polyfill.ts';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { buildArtifact } from '../../scripts/build-artifact.mjs';
import type { InstanceRecord } from '../../shared/remoter/types.ts';
import { VERSION } from '../../shared/version.ts';
import type { ClusterView } from '../../shared/wire/cluster.ts';
import { LocalPool } from '../fixtures/local-pool.ts';
import { benchArgs } from './lib/args.ts';

const HELP = `npx tsx test/bench/upgrade-leadership.ts [--n 5]   leaderless time of a rolling upgrade vs a failover

Options:
  --n N        agents in the local pool, one per process (default 5)
  -h, --help   this help

Starts a local pool, rolls a rebuilt agent over it with poolparty upgrade, then SIGKILLs the leader,
sampling every monitor for a leader meanwhile. Prints one JSON object (with the 1-minute load).`;

const values = benchArgs('upgrade-leadership', HELP, { n: { type: 'string', default: '5' } });
const n = Number(values.n);

/** One sample: whether some node names a leader it sees alive, and which. */
interface Sample {
  at: number;
  leader: string | null;
}

async function sample(monitors: string[]): Promise<Sample> {
  const at = Date.now();
  const views = await Promise.all(
    monitors.map((m) =>
      fetch(`${m}/cluster`, { signal: AbortSignal.timeout(1000) })
        .then((r) => r.json() as Promise<ClusterView>)
        .catch(() => null),
    ),
  );
  for (const v of views) {
    const l = v?.leader && v.members.find((m) => m.peerId === v.leader?.peerId && m.state === 'alive');
    if (l) return { at, leader: l.peerId };
  }
  return { at, leader: null };
}

/** Leaderless stretches between samples (ms): the longest, their sum, and how many. */
function gaps(samples: Sample[]) {
  const runs: number[] = [];
  let from: number | null = null;
  for (const s of samples) {
    if (s.leader === null) from ??= s.at;
    else if (from !== null) {
      runs.push(s.at - from);
      from = null;
    }
  }
  if (from !== null) runs.push((samples.at(-1)?.at ?? from) - from);
  const leaders = new Set(samples.flatMap((s) => (s.leader ? [s.leader] : [])));
  return {
    longestMs: Math.max(0, ...runs),
    totalMs: runs.reduce((a, b) => a + b, 0),
    gaps: runs.length,
    leaders: leaders.size,
  };
}

/** The leader once some node names one it sees alive, or null after `ms`. */
async function leaderWithin(monitors: string[], ms: number): Promise<Sample | null> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const s = await sample(monitors);
    if (s.leader) return s;
    await new Promise((r) => setTimeout(r, 200));
  }
  return null;
}

/** The leader's member record from the first node whose view lists it. */
async function victimOf(monitors: string[], leader: string): Promise<ClusterView['members'][number]> {
  for (const m of monitors) {
    const view = await fetch(`${m}/cluster`, { signal: AbortSignal.timeout(2000) })
      .then((r) => r.json() as Promise<ClusterView>)
      .catch(() => null);
    const found = view?.members.find((x) => x.peerId === leader);
    if (found) return found;
  }
  throw new Error(`no node lists the leader ${leader}`);
}

async function watch<T>(monitors: string[], during: Promise<T>): Promise<{ result: T; samples: Sample[] }> {
  const samples: Sample[] = [];
  let on = true;
  const loop = (async () => {
    while (on) {
      samples.push(await sample(monitors));
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  const result = await during.finally(() => {
    on = false;
  });
  await loop;
  return { result, samples };
}

const pool = await LocalPool.create({ name: 'uplead', agent: 'real', cliTimeoutMs: 900_000 });
try {
  await writeFile(pool.config, (await readFile(pool.config, 'utf8')).replace('min: 3, max: 5', `min: ${n}, max: ${n}`));
  const built = await buildArtifact({ outdir: join(pool.dir, 'art') });
  const v2 = join(pool.dir, 'v2', 'poolparty-agent.mjs');
  await mkdir(join(pool.dir, 'v2'));
  await writeFile(v2, Buffer.concat([await readFile(built.file), Buffer.from('\n// bench rebuild\n')]));
  await writeFile(join(pool.dir, 'v2', 'poolparty-agent.json'), JSON.stringify({ version: `${VERSION}-bench.2` }));
  const boot = await pool.cli('bootstrap', '-c', pool.config, '--json');
  if (boot.code !== 0) throw new Error(`bootstrap: ${boot.stderr}`);
  const instances = (JSON.parse(boot.stdout) as { instances: InstanceRecord[] }).instances;
  const monitors = instances.map((i) => i.monitor as string);
  const loadBefore = loadavg()[0];

  const upgrade = await watch(
    monitors,
    pool.cli('upgrade', '-c', pool.config, '--artifact', v2, '--gate', '90s', '--yes', '--json'),
  );
  if (upgrade.result.code !== 0) throw new Error(`upgrade: ${upgrade.result.stderr}`);
  const upgradeMs = (upgrade.samples.at(-1)?.at ?? 0) - (upgrade.samples[0]?.at ?? 0);

  // The reference: the leader killed outright, until the pool names another it sees alive.
  // The rollout may end while the restarted leader's successor is still being elected.
  const leader = (await leaderWithin(monitors, 120_000))?.leader;
  if (!leader) throw new Error('no leader after the upgrade');
  // Any node's view will do (the first may be one still restarting). Every node serves :8642 on
  // its own loopback address, so the host, not the port, tells the killed node from the survivors:
  // told apart by port, the reference once watched no survivor and reported no new leader at all.
  const victim = await victimOf(monitors, leader);
  const state = JSON.parse(await readFile(join(pool.stateDir, 'local', 'instances.json'), 'utf8')) as {
    instances: Array<{ id: string; pid: number }>;
  };
  const pid = state.instances.find((i) => i.id === victim.instanceId)?.pid;
  if (!pid) throw new Error(`no pid recorded for the leader ${victim.instanceId}`);
  const survivors = monitors.filter((m) => new URL(m).host !== new URL(victim.monitor).host);
  if (survivors.length !== monitors.length - 1)
    throw new Error(`the leader's monitor ${victim.monitor} is not exactly one of ${monitors.join(', ')}`);
  let killedAt = 0;
  const failover = await watch(
    survivors,
    (async () => {
      // The group: an upgraded node is its supervisor and the agent it runs.
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        process.kill(pid, 'SIGKILL');
      }
      killedAt = Date.now();
      while (Date.now() < killedAt + 180_000) {
        const s = await sample(survivors);
        if (s.leader && s.leader !== leader) return s.at - killedAt;
        await new Promise((r) => setTimeout(r, 200));
      }
      return null;
    })(),
  );
  console.log(
    JSON.stringify({
      scenario: 'upgrade-leadership',
      n,
      upgrade: { durationMs: upgradeMs, samples: upgrade.samples.length, leaderless: gaps(upgrade.samples) },
      failover: { newLeaderAfterMs: failover.result },
      load1: { before: loadBefore, after: loadavg()[0] },
    }),
  );
} finally {
  await pool.cli('terminate', '-c', pool.config, '--yes').catch(() => undefined);
  await pool.cleanup();
}
